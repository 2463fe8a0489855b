import ArgumentParser
import Foundation
import Pipeline
import Settings
import VectorIndex

struct BuildIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-index",
        abstract: "Build an index in LMDB from vectors, calibrate its default search setting, and make it current.",
        discussion: """
            Trains k-means on a sample of the vectors (the coarse quantiser), assigns every vector to \
            its nearest centroid's list, encodes it (flat float32, sq8 or pq4 codes) and writes the \
            lists into a new LMDB version beside the current one. It then measures recall@10 \
            against exact search on --queries (the users' embeddings; without it, held-out indexed \
            vectors) over a sweep of nprobe and re-rank factors, and records the fastest setting \
            that reaches --target-recall: search, serve, ann-eval, evaluate and the demo use it \
            unless told otherwise, and index-stats shows it with the measured curve. With layout \
            auto, a small set (exact_below_mib in the configuration), or one that an exact scan \
            serves as fast as the calibrated IVF search, is written as one exact list instead, and \
            the build says so.

            The new version becomes current atomically once it is complete, and the last \
            --keep-versions are kept. A build that fails or is killed leaves the previous version \
            current; one build runs at a time per index directory. Ids are the row numbers unless \
            --ids gives an int64 .npy. Defaults come from --config (Config/index.json, or the \
            built-in defaults when it is absent).
            """
    )

    @Option(help: "Vectors: float32 .npy (rows × dimension) or .fvecs.")
    var vectors: String

    @Option(help: "Optional int64 .npy of ids, one per row (default: row numbers).")
    var ids: String?

    @Option(help: "The index directory (versions and the CURRENT link live here; default: the configuration's path).")
    var out: String?

    @Option(parsing: .unconditional, help: "Number of lists; 0 picks about 4·√n.")
    var nlist: Int?

    @Option(help: "inner_product (ip), cosine or l2.")
    var metric: String?

    @Option(help: "flat (float32), sq8 (8-bit codes) or pq4 (4-bit product quantisation, fast-scan); sq8 and pq4 re-rank with full-precision vectors.")
    var encoding: String?

    @Option(help: "auto (exact when small or as fast), ivf, or exact (one list scanned exactly).")
    var layout: String?

    @Option(name: .customLong("sub-quantizers"), parsing: .unconditional, help: "pq4: sub-quantizers (must divide the dimension; 0 = dimension / 2).")
    var subQuantizers: Int?

    @Option(help: "Calibration queries: float32 .npy of query vectors, e.g. the users' embeddings (`twotower embed --users`).")
    var queries: String?

    @Option(name: .customLong("known-items-from"), help: "With --queries holding user embeddings (row = dense user id): this store's known items of each user are left out of their calibration searches, as the daemon leaves them out of answers.")
    var knownItemsFrom: String?

    @Option(name: .customLong("split-name"), help: "With --known-items-from: the split whose train and validation parts are known (default: the store's only split).")
    var splitName: String?

    @Option(name: .customLong("target-recall"), parsing: .unconditional, help: "Recall@10 the default search setting must reach (0 skips calibration).")
    var targetRecall: Double?

    @Option(name: .customLong("train-sample"), parsing: .unconditional, help: "Vectors sampled to train k-means; 0 = 256·nlist.")
    var trainSample: Int?

    @Option(parsing: .unconditional, help: "k-means iterations.")
    var iterations: Int?

    @OptionGroup var seed: SeedOption

    @Option(name: .customLong("keep-versions"), parsing: .unconditional, help: "Published versions to keep.")
    var keepVersions: Int?

    @Option(help: "Index configuration file.")
    var config: String?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        if let nlist { try check(nlist, atLeast: 0, "--nlist") }
        if let trainSample { try check(trainSample, atLeast: 0, "--train-sample") }
        if let iterations { try check(iterations, atLeast: 1, "--iterations") }
        if knownItemsFrom != nil && queries == nil { throw ValidationError("--known-items-from needs --queries (the users' embeddings)") }
        if let subQuantizers { try check(subQuantizers, atLeast: 0, "--sub-quantizers") }
        if let targetRecall, !(0...1).contains(targetRecall) { throw ValidationError("--target-recall must be between 0 and 1, not \(targetRecall)") }
        if let layout, IndexLayoutChoice(rawValue: layout) == nil {
            throw ValidationError("unknown layout '\(layout)' (\(IndexLayoutChoice.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let keepVersions { try check(keepVersions, atLeast: 1, "--keep-versions") }
        if let metric, Metric(name: metric) == nil { throw ValidationError("unknown metric '\(metric)' (inner_product, cosine, l2)") }
        if let encoding, VectorEncoding(rawValue: encoding) == nil {
            throw ValidationError("unknown encoding '\(encoding)' (\(VectorEncoding.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        let defaults = try loadConfig(IndexConfig.self, explicit: config, fallback: "Config/index.json")
        var options = IndexBuildOptions()
        options.nlist = nlist
        options.metric = metric.flatMap(Metric.init(name:))
        options.encoding = encoding.flatMap(VectorEncoding.init(rawValue:))
        options.layout = layout.flatMap(IndexLayoutChoice.init(rawValue:))
        options.subQuantizers = subQuantizers
        options.targetRecall = targetRecall
        options.queriesPath = queries
        if let knownItemsFrom { options.exclusions = try IndexJobs.knownItems(store: knownItemsFrom, split: splitName) }
        options.trainSample = trainSample
        options.iterations = iterations
        options.seed = seed.seed
        options.keepVersions = keepVersions
        options.out = out
        let printer = ProgressPrinter()
        let report = try IndexJobs.build(vectors: vectors, ids: ids, config: defaults, options: options) { printer.status($0) }
        printer.status("built", finished: true)
        if output.json {
            print(try jsonText(report))
        } else {
            print("Built \(report.path): \(Format.count(report.count)) vectors × \(report.dimension), \(report.encoding.rawValue), nlist \(report.nlist)")
            if let note = report.layoutNote { print("layout: \(note)") }
            print(String(format: "train %.2f s + add %.2f s + calibrate %.2f s = %.2f s", report.trainSeconds, report.addSeconds,
                         report.calibrationSeconds, report.buildSeconds)
                  + (report.kmeansObjective.isEmpty ? "" : String(format: "; k-means objective %.4g → %.4g", report.kmeansObjective.first!, report.kmeansObjective.last!)))
            if let c = report.calibration {
                print(CalibrationText.summary(c, nlist: report.nlist))
            }
        }
    }
}
