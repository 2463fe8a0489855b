import Evaluation
import Foundation
import Ingestion
import LinearAlgebra
import Model
import Serving
import Settings
import Store
import Synthetic
import VectorIndex

/// The README's main job: the pipeline end to end on the built-in synthetic data (or a data set
/// on disk): data → store (built beside the old one, then moved into place) → split → statistics
/// → popularity → train → index → evaluation exact and through the index → the daemon queried
/// over loopback → the HTML report. Each step is a function of its own.
public struct DemoJob {
    public var data: DataConfig
    /// The training configuration, the sizes it leaves to the data, and where it came from.
    public var training: TrainingRecipe
    public var index: IndexConfig
    /// The synthetic recipe, when the data is generated.
    public var syntheticSpec: SyntheticSpec?
    /// Where the store, model, index and report go.
    public var directory: String
    public var storePath: String

    public init(data: DataConfig, training: TrainingRecipe, index: IndexConfig, syntheticSpec: SyntheticSpec?,
                directory: String, storePath: String) {
        self.data = data
        self.training = training
        self.index = index
        self.syntheticSpec = syntheticSpec
        self.directory = directory
        self.storePath = storePath
    }

    /// The configuration for a data set directory, its format inferred from its files: LightGCN
    /// (`train.txt`, `test.txt`; a validation part carved from the given train part) or
    /// MovieLens (`u.data`; leave-last-out).
    public static func dataConfig(for dataset: String, base: DataConfig) throws -> DataConfig {
        var config = base
        let fm = FileManager.default
        let name = (dataset as NSString).lastPathComponent
        config.input = dataset
        config.store = ((config.store as NSString).deletingLastPathComponent as NSString).appendingPathComponent("\(name).sqlite")
        if fm.fileExists(atPath: (dataset as NSString).appendingPathComponent("train.txt")) {
            config.source = .lightgcn
            config.split = SplitConfig()
            config.split.name = "given-validation"
            config.split.method = .validationFrom
            config.split.source = "given"
            config.split.validation = 0.1
        } else if fm.fileExists(atPath: (dataset as NSString).appendingPathComponent("u.data")) {
            config.source = .movielens
            config.split = SplitConfig()
        } else {
            throw JobError("\(dataset): neither LightGCN (train.txt, test.txt) nor MovieLens (u.data) files found")
        }
        return config
    }

    public struct Summary: Sendable {
        public var stats: StoreStatistics
        public var training: TrainingJob.Outcome
        public var exact: RankingMetrics
        public var throughIndex: RankingMetrics
        public var popularity: RankingMetrics
        public var build: BuildReport
        public var nprobe: Int
        public var ann: ANNPoint
        public var latency: (p50: Double, p99: Double, count: Int)
        public var reportPath: String
        public var timings: [(String, Double)]
    }

    var modelPath: String { (directory as NSString).appendingPathComponent("model") }
    var indexPath: String { (directory as NSString).appendingPathComponent("index") }

    public func run(log: @escaping @Sendable (String) -> Void, progress: ((IngestProgress) -> Void)? = nil) async throws -> Summary {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var timings: [(String, Double)] = []
        func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            log("==> \(name)")
            let started = Date()
            let value = try body()
            timings.append((name, Date().timeIntervalSince(started)))
            return value
        }
        let (format, input) = try step(syntheticSpec.map { "synth: \($0.users) users, \($0.items) items, seed \($0.seed)" } ?? "data: \(data.input)") {
            try prepareInput(log: log)
        }
        try step("ingest \(format.rawValue) from \(input)") {
            try buildStore(format: format, input: input, log: log, progress: progress)
        }
        let stats = try step("stats") { try StoreJobs.statistics(store: storePath) }
        log(StatsTable(stats: stats).text)
        let popularity = try step("evaluate the popularity baseline on '\(data.split.name)' (test)") { try evaluatePopularity() }
        log(String(format: "    popularity: Recall@20 %.4f, NDCG@20 %.4f, HitRate@10 %.4f over %d users",
                   popularity["recall@20"] ?? 0, popularity["ndcg@20"] ?? 0, popularity["hitrate@10"] ?? 0, popularity.users))
        log("    training configuration: \(training.source)" + (training.derive.isEmpty ? ""
            : "; derived from the data: " + training.derive.sorted().joined(separator: ", ")))
        let outcome = try step("train" + (training.derive.contains("epochs") ? "" : " (\(training.config.epochs) epochs at most)")) {
            try TrainingJob(storePath: storePath, config: training.config, split: data.split.name, out: modelPath,
                            derive: training.derive).run { log("    " + $0) }
        }
        let store = try InteractionStore(path: storePath, create: false)
        let test = try EvaluationData.load(store: store, split: data.split.name, part: .test)
        // Test-time user vectors read the histories known before the test (train and validation):
        // the lists the evaluation masks.
        var testInputs = outcome.inputs
        if outcome.model.architecture.history != nil { testInputs.histories = test.masked }
        let itemVectors = outcome.model.itemEmbeddings(testInputs), userVectors = outcome.model.userEmbeddings(testInputs)
        // Exported for `build-index --queries` and the peers, as `embed` writes them.
        try VectorFile.writeNPY(itemVectors, to: (directory as NSString).appendingPathComponent("items.npy"))
        try VectorFile.writeNPY(userVectors, to: (directory as NSString).appendingPathComponent("users.npy"))
        let build = try step("build the index over \(itemVectors.rows) item embeddings, calibrated on the user embeddings") {
            var options = IndexBuildOptions()
            options.out = indexPath
            // Calibrated as the daemon serves: each user's known items left out of their answers.
            options.queries = userVectors
            options.queriesName = "users.npy"
            options.exclusions = test.masked.map { $0.map(Int64.init) }
            return try IndexJobs.build(vectors: itemVectors, config: index, options: options, source: modelPath)
        }
        log("    \(build.nlist == 1 ? "one exact list" : "\(build.nlist) lists, \(build.encoding.rawValue)"), built in \(String(format: "%.2f", build.buildSeconds)) s")
        if let note = build.layoutNote { log("    layout: \(note)") }
        if let c = build.calibration { log("    " + CalibrationText.summary(c, nlist: build.nlist)) }
        // The index is opened here and closed before the daemon opens it (LMDB allows one handle per process).
        let (exact, through, ann, nprobe) = try { () throws -> (RankingMetrics, RankingMetrics, ANNPoint, Int) in
            let opened = try IVFIndex(path: indexPath)
            let nprobe = opened.metadata.defaultNprobe
            let (exact, through) = try step("evaluate exactly and through the index (nprobe \(nprobe))") { () throws -> (RankingMetrics, RankingMetrics) in
                (FullRankingEvaluator.evaluate(EmbeddingScorer(users: userVectors, items: itemVectors), data: test),
                 try evaluateThroughIndex(opened, users: userVectors, data: test, nprobe: nprobe, rerankFactor: opened.metadata.defaultRerankFactor))
            }
            let queryUsers = Array(test.evaluatedUsers.prefix(1_000))
            let queries = Matrix(rows: queryUsers.count, cols: userVectors.cols, values: queryUsers.flatMap { Array(userVectors.row($0)) })
            let ann = try step("ANN recall@10 and single-thread queries/s at nprobe \(nprobe)") {
                try ANNEvaluation.sweep(index: opened, queries: queries, truth: ANNEvaluation.groundTruth(index: opened, queries: queries),
                                        nprobes: [nprobe], minSeconds: 0.5, rerankFactor: opened.metadata.defaultRerankFactor)[0]
            }
            return (exact, through, ann, nprobe)
        }()
        log("==> serve: start the daemon on loopback, query it over HTTP, stop it")
        let served = Date()
        let sampleUsers = try test.evaluatedUsers.prefix(200).map { try store.rawID(of: .user, dense: $0) ?? "\($0)" }
        let sampleItem = try store.rawID(of: .item, dense: 0) ?? "0"
        let latency = try await serve(users: sampleUsers, item: sampleItem, log: log)
        log("    daemon drained and stopped")
        timings.append(("serve", Date().timeIntervalSince(served)))
        let reportPath = (directory as NSString).appendingPathComponent("report.html")
        try step("report") {
            var report = ReportJob(store: storePath, model: modelPath, index: indexPath, out: reportPath)
            report.splitName = data.split.name
            report.queries = 500
            try report.run()
        }
        return Summary(stats: stats, training: outcome, exact: exact, throughIndex: through, popularity: popularity, build: build,
                       nprobe: nprobe, ann: ann, latency: (latency.p50, latency.p99, latency.count), reportPath: reportPath, timings: timings)
    }

    /// Generates the synthetic files (or points at the data set); returns the format and input to ingest.
    func prepareInput(log: (String) -> Void) throws -> (IngestFormat, String) {
        guard let spec = syntheticSpec else {
            guard let format = data.source.ingestFormat else { throw JobError("source \(data.source.rawValue) has no ingest format") }
            return (format, data.input)
        }
        try spec.validate()
        let input = (directory as NSString).appendingPathComponent("synthetic")
        let summary = try SyntheticGenerator(spec: spec).generate(into: input)
        log("    \(Format.count(summary.interactions)) interactions, \(String(format: "%.0f%%", summary.primaryClusterShare * 100)) from each user's primary cluster")
        return (.csv, input)
    }

    /// A fresh store with the data and the split, built beside the old one and moved into place.
    func buildStore(format: IngestFormat, input: String, log: (String) -> Void, progress: ((IngestProgress) -> Void)?) throws {
        try InteractionStore.buildBeside(storePath) { store in
            let report = try StoreJobs.ingest(format: format, input: input, into: store, policy: data.onError, progress: progress)
            log(IngestSummary(report: report).text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            log("==> split '\(data.split.name)' (\(data.split.method.rawValue))")
            if let method = try data.split.splitMethod() {
                let counts = try StoreJobs.split(store, name: data.split.name, method: method)
                log("    split '\(data.split.name)': " + SplitPart.allCases.map { "\($0.name) \(Format.count(counts[$0] ?? 0))" }.joined(separator: ", "))
            } else {
                _ = try store.splitID(named: data.split.name)  // written at ingest; must exist
            }
        }
    }

    func evaluatePopularity() throws -> RankingMetrics {
        let data = try EvaluationData.load(store: InteractionStore(path: storePath, create: false), split: self.data.split.name, part: .test)
        return FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data)
    }

    /// Starts the daemon in this process on a free loopback port, queries it, drains it.
    func serve(users: [String], item: String, log: @escaping @Sendable (String) -> Void) async throws -> DemoClient.Latency {
        var options = ServingOptions(storePath: storePath, modelPath: modelPath, indexPath: indexPath)
        options.port = 0
        return try await Daemon(service: RecommendationService(options: options)).whileRunning { port in
            try await DemoClient(base: "http://127.0.0.1:\(port)", users: users, item: item, log: log).run()
        }
    }
}
