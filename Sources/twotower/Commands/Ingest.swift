import ArgumentParser
import Foundation
import Ingestion
import Pipeline

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read interaction files (MovieLens, LightGCN, CSV/TSV) into a SQLite store.",
        discussion: """
            The store is created when missing. The whole ingest is one transaction: on any error \
            the store is left exactly as it was. Re-ingesting the same files changes nothing (users \
            and items are keyed by their raw ids, interactions by user, item and time).

            Formats:
              movielens  --input is a directory with u.data, and optionally u.user, u.item, u.genre
              lightgcn   --input is a directory with train.txt and test.txt; their split is stored as 'given'
              csv        --input is a delimited file, or a directory with interactions.csv (and users.csv,
                         items.csv as feature files), as `twotower synth` writes

            Ids are text of at most 4,096 bytes of valid UTF-8 without control characters. \
            Timestamps are epoch seconds (integer or decimal) or ISO 8601. Feature files (csv): a \
            header `id,name[:kind],…` with kinds categorical (default), multihot (tokens separated \
            by --token-separator) and numeric.
            """
    )

    @Option(help: "Input format: \(IngestFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: IngestFormat

    @Option(help: "Input directory (movielens, lightgcn) or file/directory (csv).")
    var input: String

    @OptionGroup var target: StoreOption

    @Option(name: .customLong("on-error"), help: "fail: stop and roll back at the first malformed line; skip: skip such lines and report them.")
    var onError: ErrorPolicy = .fail

    @Option(help: "csv: field delimiter, one character or 'tab' (default: tab for .tsv, else comma).")
    var delimiter: String?

    @Flag(name: .customLong("no-header"), help: "csv: the interaction file has no header line; name columns by 1-based number.")
    var noHeader = false

    @Option(name: .customLong("user-column"), help: "csv: the user id column, a header name or a 1-based number.")
    var userColumn = "user"

    @Option(name: .customLong("item-column"), help: "csv: the item id column.")
    var itemColumn = "item"

    @Option(name: .customLong("timestamp-column"), help: "csv: optional timestamp column (epoch seconds or ISO 8601).")
    var timestampColumn: String?

    @Option(name: .customLong("weight-column"), help: "csv: optional weight or rating column.")
    var weightColumn: String?

    @Option(name: .customLong("user-features"), help: "csv: optional user feature file.")
    var userFeatures: String?

    @Option(name: .customLong("item-features"), help: "csv: optional item feature file.")
    var itemFeatures: String?

    @Option(name: .customLong("token-separator"), help: "csv: separator between the tokens of a multihot cell.")
    var tokenSeparator = "|"

    @OptionGroup var output: JSONFlag

    func validate() throws {
        if let delimiter, delimiter != "tab", delimiter.utf8.count != 1 {
            throw ValidationError("--delimiter must be one ASCII character or 'tab', not '\(delimiter)'")
        }
        if tokenSeparator.utf8.count != 1 { throw ValidationError("--token-separator must be one ASCII character") }
        if format != .csv && (timestampColumn != nil || weightColumn != nil || userFeatures != nil || itemFeatures != nil || noHeader) {
            throw ValidationError("column and feature-file options apply to --format csv only")
        }
    }

    var delimitedOptions: DelimitedOptions {
        var o = DelimitedOptions()
        if let delimiter { o.delimiter = delimiter == "tab" ? 0x09 : delimiter.utf8.first }
        o.header = !noHeader
        o.user = ColumnReference(userColumn)
        o.item = ColumnReference(itemColumn)
        o.timestamp = timestampColumn.map(ColumnReference.init)
        o.weight = weightColumn.map(ColumnReference.init)
        o.userFeatures = userFeatures
        o.itemFeatures = itemFeatures
        o.tokenSeparator = tokenSeparator.utf8.first!
        return o
    }

    func run() throws {
        let printer = ProgressPrinter()
        let report = try StoreJobs.ingest(format: format, input: input, store: target.store, policy: onError,
                                          delimited: delimitedOptions, progress: printer.ingest)
        print(output.json ? try jsonText(report) : IngestSummary(report: report).text)
    }
}

extension IngestFormat: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
