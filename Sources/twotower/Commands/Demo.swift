import ArgumentParser
import Configuration
import Evaluation
import Foundation
import Ingestion
import Store
import Synthetic

/// The README's main command: the pipeline end to end on the built-in synthetic data, or on a
/// real data set with `--dataset`.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pipeline end to end (default: on the built-in synthetic data set).",
        discussion: """
            Steps so far: generate the synthetic data (or read --dataset) → ingest into a fresh store → \
            split → print the store's statistics → evaluate the popularity baseline. Training, indexing \
            and serving join as they land.
            The store is built beside the old one and renamed over it at the end, so an interrupted run \
            leaves the previous store intact.
            """
    )

    @Option(help: "The data configuration.")
    var dataConfig = "Config/data.json"

    @Option(help: "A real data set directory instead of the synthetic one: LightGCN (train.txt, test.txt) or MovieLens (u.data).")
    var dataset: String?

    @Option(help: "Where generated files go (default: the directory of the configured store).")
    var workdir: String?

    func run() throws {
        var config = try ConfigLoader.load(DataConfig.self, from: dataConfig)
        if let dataset { try configure(&config, for: dataset) }
        let storePath = workdir.map { ($0 as NSString).appendingPathComponent((config.store as NSString).lastPathComponent) } ?? config.store
        try FileManager.default.createDirectory(atPath: (storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let printer = ProgressPrinter()
        var timings: [(String, Double)] = []
        func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            print("==> \(name)")
            let started = Date()
            let value = try body()
            timings.append((name, Date().timeIntervalSince(started)))
            return value
        }

        var format = IngestFormat(rawValue: config.source) ?? .csv
        var input = config.input
        if config.source == "synthetic" {
            let spec = try ConfigLoader.load(SyntheticSpec.self, from: config.syntheticSpec)
            try spec.validate()
            if let workdir { input = (workdir as NSString).appendingPathComponent("synthetic") }
            let summary = try step("synth: \(spec.users) users, \(spec.items) items, seed \(spec.seed)") {
                try SyntheticGenerator(spec: spec).generate(into: input)
            }
            print("    \(Format.count(summary.interactions)) interactions, \(String(format: "%.0f%%", summary.primaryClusterShare * 100)) from each user's primary cluster")
            format = .csv
        } else if IngestFormat(rawValue: config.source) == nil {
            throw ValidationError("\(dataConfig): source '\(config.source)' is not synthetic, csv, movielens or lightgcn")
        }

        let building = storePath + ".building"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: building + suffix) }
        try step("ingest \(format.rawValue) from \(input)") {
            let store = try InteractionStore(path: building)
            let onError = ErrorPolicy(rawValue: config.onError) ?? .fail
            let report = try Ingestor(store: store, policy: onError, progress: printer.ingest)
                .ingest(format: format, input: input)
            print(IngestSummary(report: report).text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        }
        try step("split '\(config.split.name)' (\(config.split.method))") {
            let store = try InteractionStore(path: building)
            if config.split.method == "given" {
                _ = try store.splitID(named: config.split.name)  // written at ingest; must exist
                return
            }
            let method = try SplitMethod(name: config.split.method, validation: config.split.validation,
                                         test: config.split.test, source: config.split.source, seed: config.split.seed)
            try Splitter(store: store).split(name: config.split.name, method: method)
        }
        // Checkpoint the WAL into the main file, then move the finished store into place.
        try InteractionStore(path: building).connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }
        guard rename(building, storePath) == 0 else {
            throw ValidationError("cannot move \(building) to \(storePath): \(String(cString: strerror(errno)))")
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: building + suffix) }

        let stats = try step("stats") { try StoreStatistics(store: InteractionStore(path: storePath, create: false)) }
        print(StatsTable(stats: stats).text)
        let baseline = try step("evaluate the popularity baseline on '\(config.split.name)' (test)") { () -> RankingMetrics in
            let data = try EvaluationData.load(store: InteractionStore(path: storePath, create: false), split: config.split.name, part: .test)
            return FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data)
        }
        print(String(format: "    popularity: Recall@20 %.4f, NDCG@20 %.4f, HitRate@10 %.4f over %d users",
                     baseline["recall@20"] ?? 0, baseline["ndcg@20"] ?? 0, baseline["hitrate@10"] ?? 0, baseline.users))
        print("\nStore: \(storePath)")
        print(Format.table([["step", "seconds"]] + timings.map { [$0.0, String(format: "%.2f", $0.1)] }))
    }

    /// Points the configuration at a real data set, inferring its format from the files in it.
    private func configure(_ config: inout DataConfig, for dataset: String) throws {
        let fm = FileManager.default
        let name = (dataset as NSString).lastPathComponent
        config.input = dataset
        config.store = ((config.store as NSString).deletingLastPathComponent as NSString).appendingPathComponent("\(name).sqlite")
        if fm.fileExists(atPath: (dataset as NSString).appendingPathComponent("train.txt")) {
            config.source = "lightgcn"
            config.split = SplitConfig()
            config.split.name = "given-validation"
            config.split.method = "validation-from"
            config.split.source = "given"
            config.split.validation = 0.1
        } else if fm.fileExists(atPath: (dataset as NSString).appendingPathComponent("u.data")) {
            config.source = "movielens"
            config.split = SplitConfig()
        } else {
            throw ValidationError("\(dataset): neither LightGCN (train.txt) nor MovieLens (u.data) files found")
        }
    }
}
