import ArgumentParser
import Foundation
import Pipeline
import Settings
import Evaluation
import Synthetic

/// The README's main command: the pipeline end to end on the built-in synthetic data, or on a
/// data set on disk with `--dataset`.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pipeline end to end (default: on the built-in synthetic data set).",
        discussion: """
            Steps: generate the synthetic data (or read --dataset) → ingest into a fresh store → split → \
            statistics → popularity baseline → train the towers → build the IVF index over the item \
            embeddings → evaluate exactly and through the index, and measure ANN recall at the \
            index's default nprobe → start the query daemon on loopback, query it over HTTP and \
            stop it → an HTML report → a summary table.
            The store is built beside the old one and renamed over it at the end, so an interrupted run \
            leaves the previous store intact.
            --dataset takes a LightGCN folder (train.txt and test.txt: lines `user item item …`) or a \
            MovieLens folder (u.data, optionally u.user, u.item, u.genre).
            """
    )

    @Option(name: .customLong("data-config"), help: "The data configuration (default: Config/data.json, or the built-in defaults when it is absent).")
    var dataConfig: String?

    @Option(help: "A data set directory instead of the synthetic one: LightGCN (train.txt, test.txt) or MovieLens (u.data).")
    var dataset: String?

    @Option(help: "Where generated files go (default: the directory of the configured store).")
    var workdir: String?

    @Option(name: .customLong("train-config"), help: "The training configuration (default: Config/gowalla.json for a --dataset folder named gowalla, Config/ml-100k.json for one named ml-100k, else Config/train.json, the general default recipe with sizes derived from the data).")
    var trainConfig: String?

    @Option(name: .customLong("index-config"), help: "The index configuration (default: Config/index.json).")
    var indexConfig: String?

    @Option(parsing: .unconditional, help: "Override the training epochs (for a quick run).")
    var epochs: Int?

    @Option(name: .customLong("synthetic-spec"), help: "Override the synthetic recipe file.")
    var syntheticSpec: String?

    func validate() throws {
        if let epochs { try check(epochs, atLeast: 1, "--epochs") }
    }

    func run() async throws {
        var data = try loadConfig(DataConfig.self, explicit: dataConfig, fallback: "Config/data.json")
        if let dataset { data = try DemoJob.dataConfig(for: dataset, base: data) }
        let storePath = workdir.map { ($0 as NSString).appendingPathComponent((data.store as NSString).lastPathComponent) } ?? data.store
        var training = try TrainingRecipe.load(explicit: trainConfig, fallback: defaultTrainConfig)
        if let epochs {
            training.config.epochs = epochs
            training.derive.remove("epochs")
        }
        let spec: SyntheticSpec? = data.source == .synthetic
            ? try loadConfig(SyntheticSpec.self, explicit: syntheticSpec, fallback: data.syntheticSpec) : nil
        let job = DemoJob(data: data, training: training,
                          index: try loadConfig(IndexConfig.self, explicit: indexConfig, fallback: "Config/index.json"),
                          syntheticSpec: spec, directory: (storePath as NSString).deletingLastPathComponent, storePath: storePath)
        let printer = ProgressPrinter()
        let s = try await job.run(log: { print($0) }, progress: printer.ingest)
        print("\nSummary")
        func m(_ metrics: RankingMetrics, _ key: String) -> String { Format.metric(metrics[key]) }
        print(Format.table([
            ["data", "\(Format.count(s.stats.users)) users, \(Format.count(s.stats.items)) items, \(Format.count(s.stats.interactions)) interactions"],
            ["training", String(format: "%.1f s, %d epochs, best validation Recall@20 %@", s.training.seconds, s.training.history.count,
                                Format.metric(s.training.bestValidation))],
            ["Recall@20 exact / index / popularity", "\(m(s.exact, "recall@20")) / \(m(s.throughIndex, "recall@20")) / \(m(s.popularity, "recall@20"))"],
            ["NDCG@20 exact / index / popularity", "\(m(s.exact, "ndcg@20")) / \(m(s.throughIndex, "ndcg@20")) / \(m(s.popularity, "ndcg@20"))"],
            ["Recall@20 through the index / exact", s.exact["recall@20"].flatMap { e in s.throughIndex["recall@20"].map { e > 0 ? String(format: "%.4f", $0 / e) : "—" } } ?? "—"],
            ["index", (s.build.nlist == 1 ? "one exact list" : "\(s.build.nlist) lists, \(s.build.encoding.rawValue)") + String(format: ", built in %.2f s", s.build.buildSeconds)],
            ["ANN recall@10 at " + (s.build.nlist == 1 ? "the exact scan" : "nprobe \(s.nprobe)"), String(format: "%.4f at %@ queries/s (1 thread)", s.ann.recallAt10, Format.count(Int(s.ann.qps)))],
            ["HTTP top-10 latency p50 / p99", String(format: "%.2f / %.2f ms over %d sequential requests", s.latency.p50, s.latency.p99, s.latency.count)],
        ]))
        print("\nStore: \(storePath)   Report: \(s.reportPath) (open it in a browser)")
        print(Format.table([["step", "seconds"]] + s.timings.map { [$0.0, String(format: "%.2f", $0.1)] }))
    }

    /// The shipped configuration tuned for this data set, when there is one (by the folder's name,
    /// as `../shared/data` and the data sets' own archives name them), else the general default.
    private var defaultTrainConfig: String {
        let name = dataset.map { (($0 as NSString).standardizingPath as NSString).lastPathComponent.lowercased() }
        let tuned = ["gowalla": "Config/gowalla.json", "ml-100k": "Config/ml-100k.json"]
        if let name, let file = tuned[name], FileManager.default.fileExists(atPath: file) { return file }
        return "Config/train.json"
    }
}
