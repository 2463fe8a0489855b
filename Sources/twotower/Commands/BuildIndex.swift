import ArgumentParser
import Settings
import Foundation
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
            version current. Ids are the row numbers unless --ids gives an int64 .npy.
            Defaults come from --config (Config/index.json).
            """
    )

    @Option(help: "Vectors: float32 .npy (rows × dimension) or .fvecs.")
    var vectors: String

    @Option(help: "Optional int64 .npy of ids, one per row (default: row numbers).")
    var ids: String?

    @Option(help: "The index directory (versions and the CURRENT link live here).")
    var out: String?

    @Option(help: "Number of lists; 0 picks about 4·√n.")
    var nlist: Int?

    @Option(help: "inner_product (ip), cosine or l2.")
    var metric: String?

    @Option(help: "flat (float32) or sq8 (8-bit codes with full-precision re-ranking).")
    var encoding: String?

    @Option(name: .customLong("train-sample"), help: "Vectors sampled to train k-means; 0 = 256·nlist.")
    var trainSample: Int?

    @Option(help: "k-means iterations.")
    var iterations = 10

    @Option(help: "Seed for sampling and k-means.")
    var seed: UInt64?

    @Option(name: .customLong("keep-versions"), help: "Published versions to keep.")
    var keepVersions: Int?

    @Option(help: "Index configuration file.")
    var config = "Config/index.json"

    @Flag(help: "Print the build report as JSON.")
    var json = false

    func run() throws {
        let defaults = FileManager.default.fileExists(atPath: config) ? try ConfigLoader.load(IndexConfig.self, from: config) : IndexConfig()
        let matrix = try VectorFile.readMatrix(vectors)
        let idList = try ids.map(VectorFile.readIDs)
        let chosenNlist = nlist ?? defaults.nlist
        var p = BuildParameters(nlist: chosenNlist > 0 ? chosenNlist : max(1, min(matrix.rows, Int(4 * Double(matrix.rows).squareRoot()))))
        let metricName = metric ?? defaults.metric
        guard let m = Metric(name: metricName) else { throw ValidationError("unknown metric '\(metricName)' (inner_product, cosine, l2)") }
        p.metric = m
        let encodingName = encoding ?? defaults.encoding
        guard let e = VectorEncoding(rawValue: encodingName) else { throw ValidationError("unknown encoding '\(encodingName)' (flat, sq8)") }
        p.encoding = e
        p.trainSample = trainSample ?? defaults.trainSample
        p.iterations = iterations
        p.seed = seed ?? defaults.seed
        p.keepVersions = keepVersions ?? defaults.keepVersions
        p.source = vectors
        let printer = ProgressPrinter()
        let report = try IndexBuilder.build(vectors: matrix, ids: idList, parameters: p, into: out ?? defaults.path) { printer.status($0) }
        printer.status("built", finished: true)
        if json {
            print(try jsonText(report))
        } else {
            print("Built \(report.path): \(Format.count(report.count)) vectors × \(report.dimension), nlist \(report.nlist), \(p.metric.rawValue), \(p.encoding.rawValue)")
            print(String(format: "train %.2f s + add %.2f s = %.2f s; k-means objective %.4g → %.4g", report.trainSeconds, report.addSeconds,
                         report.buildSeconds, report.kmeansObjective.first ?? 0, report.kmeansObjective.last ?? 0))
        }
    }
}
