import ArgumentParser
import Foundation
import Pipeline

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

    @OptionGroup var target: IndexOption

    @Option(help: "Vectors to add or replace: float32 .npy or .fvecs.")
    var vectors: String?

    @Option(help: "Their ids: int64 .npy, one per row.")
    var ids: String?

    @Option(help: "Comma-separated ids to delete.")
    var delete: String?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        guard vectors != nil || delete != nil else { throw ValidationError("give --vectors with --ids, or --delete") }
        guard (vectors == nil) == (ids == nil) else { throw ValidationError("--vectors and --ids go together") }
        if let delete { _ = try parseList(delete, option: "--delete", as: Int64.self, expected: "an id") }
    }

    func run() throws {
        let deleted = try delete.map { try parseList($0, option: "--delete", as: Int64.self, expected: "an id") } ?? []
        let report = try IndexJobs.update(index: target.index, vectors: vectors, ids: ids, delete: deleted)
        if output.json {
            print(try jsonText(report))
        } else {
            print("added \(report.added), replaced \(report.replaced), deleted \(report.deleted)"
                + (report.missing.isEmpty ? "" : ", not found: \(report.missing.map(String.init).joined(separator: ","))")
                + "; \(Format.count(report.count)) vectors now")
        }
    }
}
