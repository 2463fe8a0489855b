import ArgumentParser
import Foundation
import Pipeline
import Settings
import Synthetic

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the synthetic data set (planted clusters, Zipf popularity, side features).",
        discussion: """
            Writes interactions.csv, users.csv and items.csv into --out, ready for \
            `twotower ingest --format csv --input <out>`. The recipe is read from --spec \
            (default Data/synthetic.json, or the built-in recipe when that file is absent); the \
            flags below override it. The same recipe and seed give byte-identical files. Scale: \
            --users 200000 --items 1000000 --mean-interactions 50 gives about 10M interactions.
            """
    )

    @Option(help: "The recipe (JSON; see Data/synthetic.json). Missing keys take built-in defaults.")
    var spec: String?

    @Option(help: "Output directory.")
    var out = "Data/generated/synthetic"

    @Option(parsing: .unconditional, help: "Number of users (overrides the recipe).")
    var users: Int?

    @Option(parsing: .unconditional, help: "Number of items (overrides the recipe).")
    var items: Int?

    @Option(parsing: .unconditional, help: "Number of planted clusters (overrides the recipe).")
    var clusters: Int?

    @Option(name: .customLong("mean-interactions"), parsing: .unconditional, help: "Mean interactions per user (overrides the recipe).")
    var meanInteractions: Int?

    @OptionGroup var seed: SeedOption
    @OptionGroup var output: JSONFlag

    func loadSpec() throws -> SyntheticSpec {
        var s = try loadConfig(SyntheticSpec.self, explicit: spec, fallback: "Data/synthetic.json")
        if let users { s.users = users }
        if let items { s.items = items }
        if let clusters { s.clusters = clusters }
        if let meanInteractions { s.meanInteractionsPerUser = meanInteractions }
        if let seed = seed.seed { s.seed = seed }
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
        if output.json {
            print(try jsonText(summary))
        } else {
            print("Generated \(Format.count(summary.users)) users, \(Format.count(summary.items)) items, \(Format.count(summary.interactions)) interactions into \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s.")
        }
    }
}
