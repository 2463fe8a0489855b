import ArgumentParser
import Foundation
import Pipeline

struct RebuildIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-index",
        abstract: "Re-cluster the current index's vectors into a new version (after much update drift).",
        discussion: "Keeps the metric and encoding; --nlist changes the number of lists."
    )

    @OptionGroup var target: IndexOption

    @Option(parsing: .unconditional, help: "Number of lists (default: the current one's).")
    var nlist: Int?

    @OptionGroup var seed: SeedOption

    @Option(name: .customLong("keep-versions"), parsing: .unconditional, help: "Published versions to keep.")
    var keepVersions = 3

    func validate() throws {
        if let nlist { try check(nlist, atLeast: 1, "--nlist") }
        try check(keepVersions, atLeast: 1, "--keep-versions")
    }

    func run() throws {
        let printer = ProgressPrinter()
        let report = try IndexJobs.rebuild(index: target.index, nlist: nlist, seed: seed.seed ?? 1, keepVersions: keepVersions) { printer.status($0) }
        printer.status("rebuilt", finished: true)
        print("Rebuilt \(report.path): \(Format.count(report.count)) vectors, nlist \(report.nlist), \(String(format: "%.2f", report.buildSeconds)) s")
    }
}
