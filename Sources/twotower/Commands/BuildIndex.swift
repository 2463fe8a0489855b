import ArgumentParser
import Foundation
import Pipeline
import Settings
import VectorIndex

struct BuildIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-index",
        abstract: "Build an IVF index in LMDB from vectors and make it the current version.",
        discussion: """
            Trains k-means on a sample of the vectors (the coarse quantiser), assigns every vector to \
            its nearest centroid's list and writes the lists into a new LMDB version beside the \
            current one; the new version becomes current atomically once it is complete, and the \
            last --keep-versions are kept. A build that fails or is killed leaves the previous \
            version current; one build runs at a time per index directory. Ids are the row numbers \
            unless --ids gives an int64 .npy. Defaults come from --config (Config/index.json, or \
            the built-in defaults when it is absent).
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

    @Option(help: "flat (float32) or sq8 (8-bit codes with full-precision re-ranking).")
    var encoding: String?

    @Option(name: .customLong("train-sample"), parsing: .unconditional, help: "Vectors sampled to train k-means; 0 = 256·nlist.")
    var trainSample: Int?

    @Option(parsing: .unconditional, help: "k-means iterations.")
    var iterations = 10

    @OptionGroup var seed: SeedOption

    @Option(name: .customLong("keep-versions"), parsing: .unconditional, help: "Published versions to keep.")
    var keepVersions: Int?

    @Option(help: "Index configuration file.")
    var config: String?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        if let nlist { try check(nlist, atLeast: 0, "--nlist") }
        if let trainSample { try check(trainSample, atLeast: 0, "--train-sample") }
        try check(iterations, atLeast: 1, "--iterations")
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
            print("Built \(report.path): \(Format.count(report.count)) vectors × \(report.dimension), nlist \(report.nlist)")
            print(String(format: "train %.2f s + add %.2f s = %.2f s; k-means objective %.4g → %.4g", report.trainSeconds, report.addSeconds,
                         report.buildSeconds, report.kmeansObjective.first ?? 0, report.kmeansObjective.last ?? 0))
        }
    }
}
