import ArgumentParser
import Settings
import Foundation
import Synthetic

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the synthetic data set (planted clusters, Zipf popularity, side features).",
        discussion: """
            Writes interactions.csv, users.csv and items.csv into --out, ready for \
            `twotower ingest --format csv --input <out>`. The recipe is read from --spec \
            (default Data/synthetic.json); the flags below override it. The same recipe and seed give \
            byte-identical files. Scale: --users 200000 --items 1000000 --mean-interactions 50 gives \
            about 10M interactions.
            """
    )

    @Option(help: "The recipe (JSON; see Data/synthetic.json). Missing keys take built-in defaults.")
    var spec = "Data/synthetic.json"

    @Option(help: "Output directory.")
    var out = "Data/generated/synthetic"

    @Option(help: "Number of users (overrides the recipe).")
    var users: Int?

    @Option(help: "Number of items (overrides the recipe).")
    var items: Int?

    @Option(help: "Number of planted clusters (overrides the recipe).")
    var clusters: Int?

    @Option(name: .customLong("mean-interactions"), help: "Mean interactions per user (overrides the recipe).")
    var meanInteractions: Int?

    @Option(help: "Random seed (overrides the recipe).")
    var seed: UInt64?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func loadSpec() throws -> SyntheticSpec {
        var s = FileManager.default.fileExists(atPath: spec) ? try ConfigLoader.load(SyntheticSpec.self, from: spec) : SyntheticSpec()
        if let users { s.users = users }
        if let items { s.items = items }
        if let clusters { s.clusters = clusters }
        if let meanInteractions { s.meanInteractionsPerUser = meanInteractions }
        if let seed { s.seed = seed }
        try s.validate()
        return s
    }

    func run() throws {
        let s = try loadSpec()
        let printer = ProgressPrinter()
        let started = Date()
        let summary = try SyntheticGenerator(spec: s).generate(into: out) { done in
            printer.status("synth: \(Format.count(done)) / \(Format.count(s.users)) users", finished: done == s.users)
        }
        if json {
            print(try jsonText(summary))
        } else {
            print("Generated \(Format.count(summary.users)) users, \(Format.count(summary.items)) items, \(Format.count(summary.interactions)) interactions into \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s.")
        }
    }
}
