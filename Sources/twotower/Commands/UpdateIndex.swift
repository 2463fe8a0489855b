import ArgumentParser
import Foundation
import VectorIndex

struct UpdateIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update-index",
        abstract: "Add, replace or delete vectors in the current index version, in one transaction.",
        discussion: """
            --vectors with --ids adds new ids and replaces existing ones; --delete removes ids. Both \
            may be given: deletes apply first. Readers never see half an update. Centroids are kept, \
            so after much drift check `index-stats` (imbalance) and run `rebuild-index`.
            """
    )

    @Option(help: "The index directory.")
    var index: String

    @Option(help: "Vectors to add or replace: float32 .npy or .fvecs.")
    var vectors: String?

    @Option(help: "Their ids: int64 .npy, one per row.")
    var ids: String?

    @Option(help: "Comma-separated ids to delete.")
    var delete: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard vectors != nil || delete != nil else { throw ValidationError("give --vectors with --ids, or --delete") }
        guard (vectors == nil) == (ids == nil) else { throw ValidationError("--vectors and --ids go together") }
    }

    func run() throws {
        let opened = try IVFIndex(path: index, writable: true)
        var report = UpdateReport()
        if let delete {
            let list = try parseList(delete, option: "--delete", as: Int64.self, expected: "an id")
            report = try opened.delete(ids: list)
        }
        if let vectors, let ids {
            let upserted = try opened.upsert(ids: try VectorFile.readIDs(ids), vectors: try VectorFile.readMatrix(vectors))
            report.added = upserted.added
            report.replaced = upserted.replaced
            report.count = upserted.count
        }
        if json {
            print(try jsonText(report))
        } else {
            print("added \(report.added), replaced \(report.replaced), deleted \(report.deleted)"
                + (report.missing.isEmpty ? "" : ", not found: \(report.missing.map(String.init).joined(separator: ","))")
                + "; \(Format.count(report.count)) vectors now")
        }
    }
}

struct RebuildIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-index",
        abstract: "Re-cluster the current index's vectors into a new version (after much update drift).",
        discussion: "Keeps the metric and encoding; --nlist changes the number of lists."
    )

    @Option(help: "The index directory.")
    var index: String

    @Option(help: "Number of lists (default: the current one's).")
    var nlist: Int?

    @Option(help: "Seed for sampling and k-means.")
    var seed: UInt64 = 1

    @Option(name: .customLong("keep-versions"), help: "Published versions to keep.")
    var keepVersions = 3

    func run() throws {
        let current = try IVFIndex(path: index)
        let (vectors, ids) = try current.allVectors()
        var p = BuildParameters(nlist: nlist ?? current.metadata.nlist)
        p.metric = current.metadata.metric
        p.encoding = current.metadata.encoding
        p.seed = seed
        p.keepVersions = keepVersions
        p.source = "rebuild of \(current.path)"
        let printer = ProgressPrinter()
        let report = try IndexBuilder.build(vectors: vectors, ids: ids, parameters: p, into: index) { printer.status($0) }
        printer.status("rebuilt", finished: true)
        print("Rebuilt \(report.path): \(Format.count(report.count)) vectors, nlist \(report.nlist), \(String(format: "%.2f", report.buildSeconds)) s")
    }
}
