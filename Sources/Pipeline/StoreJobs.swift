import Foundation
import Ingestion
import Store

/// The store-side jobs: ingest files, make a split, read the statistics.
public enum StoreJobs {
    /// Ingests `input` into the store at `store` (created when missing) in one transaction.
    public static func ingest(format: IngestFormat, input: String, store: String, policy: ErrorPolicy = .fail,
                              delimited: DelimitedOptions = DelimitedOptions(),
                              progress: ((IngestProgress) -> Void)? = nil) throws -> IngestReport {
        try ingest(format: format, input: input, into: try InteractionStore(path: store), policy: policy, delimited: delimited, progress: progress)
    }

    /// Ingests into an open store.
    public static func ingest(format: IngestFormat, input: String, into store: InteractionStore, policy: ErrorPolicy = .fail,
                              delimited: DelimitedOptions = DelimitedOptions(),
                              progress: ((IngestProgress) -> Void)? = nil) throws -> IngestReport {
        try Ingestor(store: store, policy: policy, progress: progress).ingest(format: format, input: input, delimited: delimited)
    }

    /// Writes the split `name` (replacing one of that name); returns interactions per part.
    @discardableResult
    public static func split(store path: String, name: String, method: SplitMethod) throws -> [SplitPart: Int] {
        try split(try InteractionStore(path: path, create: false), name: name, method: method)
    }

    @discardableResult
    public static func split(_ store: InteractionStore, name: String, method: SplitMethod) throws -> [SplitPart: Int] {
        try Splitter(store: store).split(name: name, method: method)
    }

    /// The store's figures (`twotower stats`).
    public static func statistics(store path: String) throws -> StoreStatistics {
        try StoreStatistics(store: InteractionStore(path: path, create: false))
    }
}

/// A readable account of an ingest.
public struct IngestSummary {
    public let report: IngestReport

    public init(report: IngestReport) { self.report = report }

    public var text: String {
        var lines = ["Read \(Format.count(report.lines)) lines from \(report.files.count) files in \(String(format: "%.1f", report.seconds)) s "
                     + "(\(Format.count(Int(Double(report.lines) / max(report.seconds, 1e-9)))) lines/s)."]
        lines.append("New: \(Format.count(report.newUsers)) users, \(Format.count(report.newItems)) items, \(Format.count(report.newInteractions)) interactions.")
        for warning in report.warnings { lines.append("Warning: \(warning)") }
        if report.skipped > 0 {
            lines.append("Skipped \(Format.count(report.skipped)) malformed lines:")
            for (reason, count) in report.skippedByReason.sorted(by: { $0.value > $1.value }) {
                lines.append("  \(Format.count(count))× \(reason)")
            }
            lines.append("First of them:")
            lines += report.skippedExamples.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}

/// The readable form of `StoreStatistics`.
public struct StatsTable {
    public let stats: StoreStatistics

    public init(stats: StoreStatistics) { self.stats = stats }

    public var text: String {
        var out = Format.table([
            ["users", Format.count(stats.users)],
            ["items", Format.count(stats.items)],
            ["interactions", Format.count(stats.interactions)],
        ])
        func distribution(_ name: String, _ d: CountDistribution) -> [String] {
            [name, "\(d.min)", "\(d.p25)", "\(d.p50)", "\(d.p75)", "\(d.p90)", "\(d.p99)", "\(d.max)", String(format: "%.1f", d.mean)]
        }
        out += "\n\n" + Format.table([
            ["interactions per", "min", "p25", "p50", "p75", "p90", "p99", "max", "mean"],
            distribution("user", stats.interactionsPerUser),
            distribution("item", stats.interactionsPerItem),
        ])
        if !stats.splits.isEmpty {
            var rows = [["split", "train", "validation", "test"]]
            for (name, parts) in stats.splits.sorted(by: { $0.key < $1.key }) {
                rows.append([name] + ["train", "validation", "test"].map { Format.count(parts[$0] ?? 0) })
            }
            out += "\n\n" + Format.table(rows)
        }
        for (entity, features) in stats.features.sorted(by: { $0.key < $1.key }) {
            out += "\n\n\(entity) features: " + features.sorted(by: { $0.key < $1.key }).map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        }
        return out
    }
}
