import ArgumentParser
import Serving
import Settings
import Evaluation
import Foundation
import Ingestion
import LinearAlgebra
import Model
import Store
import Synthetic
import VectorIndex

/// The README's main command: the pipeline end to end on the built-in synthetic data, or on a
/// real data set with `--dataset`.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pipeline end to end (default: on the built-in synthetic data set).",
        discussion: """
            Steps: generate the synthetic data (or read --dataset) → ingest into a fresh store → split → \
            statistics → popularity baseline → train the towers → build the IVF index over the item \
            embeddings → evaluate exactly and through the index, and measure ANN recall at the default \
            nprobe → a summary table. Serving joins when the daemon lands.
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

    @Option(name: .customLong("train-config"), help: "The training configuration (default: Config/gowalla.json or Config/ml-100k.json with --dataset, else Config/train.json).")
    var trainConfig: String?

    @Option(name: .customLong("index-config"), help: "The index configuration.")
    var indexConfig = "Config/index.json"

    @Option(help: "Override the training epochs (for a quick run).")
    var epochs: Int?

    @Option(name: .customLong("synthetic-spec"), help: "Override the synthetic recipe file.")
    var syntheticSpec: String?

    func run() async throws {
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
            let spec = try ConfigLoader.load(SyntheticSpec.self, from: syntheticSpec ?? config.syntheticSpec)
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

        // Train, index the item embeddings, evaluate exactly and through the index.
        let directory = (storePath as NSString).deletingLastPathComponent
        var training = try ConfigLoader.load(TrainingConfig.self, from: trainConfig ?? defaultTrainConfig)
        if let epochs { training.epochs = epochs }
        let trainSplit = config.split.name
        let outcome = try step("train (\(training.epochs) epochs at most)") {
            try TrainingJob(storePath: storePath, config: training, split: trainSplit, out: (directory as NSString).appendingPathComponent("model"))
                .run { print("    " + $0) }
        }
        let indexSettings = try ConfigLoader.load(IndexConfig.self, from: indexConfig)
        let store = try InteractionStore(path: storePath, create: false)
        let test = try EvaluationData.load(store: store, split: trainSplit, part: .test)
        // Test-time user vectors read the histories known before the test (train and validation):
        // the lists the evaluation masks.
        var testInputs = outcome.inputs
        if outcome.model.architecture.history != nil { testInputs.histories = test.masked }
        let itemVectors = outcome.model.itemEmbeddings(testInputs), userVectors = outcome.model.userEmbeddings(testInputs)
        let indexPath = (directory as NSString).appendingPathComponent("index")
        var parameters = BuildParameters(nlist: indexSettings.nlist > 0 ? indexSettings.nlist : max(1, Int(4 * Double(itemVectors.rows).squareRoot())))
        parameters.metric = Metric(name: indexSettings.metric) ?? .innerProduct
        parameters.seed = indexSettings.seed
        parameters.source = (directory as NSString).appendingPathComponent("model")
        let build = try step("build the index over \(itemVectors.rows) item embeddings (nlist \(parameters.nlist))") {
            try IndexBuilder.build(vectors: itemVectors, parameters: parameters, into: indexPath)
        }
        let nprobe = indexSettings.nprobe
        // The index is opened here and closed before the daemon opens it (LMDB allows one handle per process).
        let (exact, through, ann) = try { () throws -> (RankingMetrics, RankingMetrics, ANNPoint) in
            let index = try IVFIndex(path: indexPath)
            let (exact, through) = try step("evaluate exactly and through the index (nprobe \(nprobe))") { () throws -> (RankingMetrics, RankingMetrics) in
                let exact = FullRankingEvaluator.evaluate(EmbeddingScorer(users: userVectors, items: itemVectors), data: test)
                let through = try evaluateThroughIndex(index, users: userVectors, data: test, nprobe: nprobe)
                return (exact, through)
            }
            let queryUsers = Array(test.evaluatedUsers.prefix(1_000))
            let queries = Matrix(rows: queryUsers.count, cols: userVectors.cols, values: queryUsers.flatMap { Array(userVectors.row($0)) })
            let ann = try step("ANN recall@10 and single-thread queries/s at nprobe \(nprobe)") {
                try ANNEvaluation.sweep(index: index, queries: queries, truth: ANNEvaluation.groundTruth(index: index, queries: queries),
                                        nprobes: [nprobe], minSeconds: 0.5)[0]
            }
            return (exact, through, ann)
        }()
        print("==> serve: start the daemon on loopback, query it over HTTP, stop it")
        let served = Date()
        var serving = ServingOptions(storePath: storePath, modelPath: (directory as NSString).appendingPathComponent("model"), indexPath: indexPath)
        serving.port = 0
        serving.defaultNprobe = nprobe
        let sampleUsers = try test.evaluatedUsers.prefix(200).map { try store.rawID(of: .user, dense: $0) ?? "\($0)" }
        let sampleItem = try store.rawID(of: .item, dense: 0) ?? "0"
        let latency = try await Daemon(service: RecommendationService(options: serving)).whileRunning { port in
            try await DemoQueries(base: "http://127.0.0.1:\(port)", users: sampleUsers, item: sampleItem).run()
        }
        print("    daemon drained and stopped")
        timings.append(("serve", Date().timeIntervalSince(served)))
        print("\nSummary")
        func metric(_ m: RankingMetrics, _ key: String) -> String { String(format: "%.4f", m[key] ?? 0) }
        print(Format.table([
            ["data", "\(Format.count(stats.users)) users, \(Format.count(stats.items)) items, \(Format.count(stats.interactions)) interactions"],
            ["training", String(format: "%.1f s, %d epochs, best validation Recall@20 %.4f", outcome.seconds, outcome.history.count, outcome.bestValidation ?? 0)],
            ["Recall@20 exact / index / popularity", "\(metric(exact, "recall@20")) / \(metric(through, "recall@20")) / \(metric(baseline, "recall@20"))"],
            ["NDCG@20 exact / index / popularity", "\(metric(exact, "ndcg@20")) / \(metric(through, "ndcg@20")) / \(metric(baseline, "ndcg@20"))"],
            ["index", String(format: "%d lists, built in %.2f s", build.nlist, build.buildSeconds)],
            ["ANN recall@10 at nprobe \(nprobe)", String(format: "%.4f at %@ queries/s (1 thread)", ann.recallAt10, Format.count(Int(ann.qps)))],
            ["HTTP top-10 latency p50 / p99", String(format: "%.2f / %.2f ms over %d sequential requests", latency.p50, latency.p99, latency.count)],
        ]))
        let reportPath = (directory as NSString).appendingPathComponent("report.html")
        try step("report") {
            let report = try ReportCommand.parse(["--store", storePath, "--model", (directory as NSString).appendingPathComponent("model"),
                                                  "--index", indexPath, "--split-name", trainSplit, "--default-nprobe", "\(nprobe)",
                                                  "--queries", "500", "--out", reportPath])
            try report.run()
        }
        print("\nStore: \(storePath)   Report: \(reportPath) (open it in a browser)")
        print(Format.table([["step", "seconds"]] + timings.map { [$0.0, String(format: "%.2f", $0.1)] }))
    }

    private var defaultTrainConfig: String {
        guard let dataset else { return "Config/train.json" }
        return FileManager.default.fileExists(atPath: (dataset as NSString).appendingPathComponent("train.txt")) ? "Config/gowalla.json" : "Config/ml-100k.json"
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
