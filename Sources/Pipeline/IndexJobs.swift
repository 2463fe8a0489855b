import Evaluation
import Foundation
import LinearAlgebra
import Settings
import Store
import VectorIndex

/// What a command line may change of `Config/index.json` for one build.
public struct IndexBuildOptions: Sendable {
    public var nlist: Int?
    public var metric: Metric?
    public var encoding: VectorEncoding?
    public var layout: IndexLayoutChoice?
    public var subQuantizers: Int?
    public var trainSample: Int?
    public var iterations: Int?
    public var targetRecall: Double?
    /// Calibration queries (the users' embeddings, a float32 .npy file); read by `build`.
    public var queriesPath: String?
    /// Calibration queries already in memory, and what they are.
    public var queries: Matrix?
    public var queriesName = ""
    /// Per query row, ids its calibration searches leave out (a user's known items).
    public var exclusions: [[Int64]]?
    public var seed: UInt64?
    public var keepVersions: Int?
    public var out: String?

    public init() {}
}

/// Index builds and maintenance: the jobs behind build-index, update-index, rebuild-index and
/// index-stats.
public enum IndexJobs {
    /// The build parameters of `config` with `options` laid over it, for `n` vectors.
    public static func parameters(config: IndexConfig, options: IndexBuildOptions, vectors n: Int, source: String) -> BuildParameters {
        let nlist = options.nlist ?? config.nlist
        var p = BuildParameters(nlist: nlist > 0 ? nlist : IVFSizing.nlist(vectors: n))
        p.metric = options.metric ?? config.metric
        p.encoding = options.encoding ?? config.encoding
        p.layout = options.layout ?? config.layout
        p.exactBelowBytes = config.exactBelowMib << 20
        p.subQuantizers = options.subQuantizers ?? config.subQuantizers
        p.trainSample = options.trainSample ?? config.trainSample
        p.iterations = options.iterations ?? config.iterations
        let target = options.targetRecall ?? config.targetRecall
        p.calibration = target > 0 ? CalibrationSettings(targetRecall: target, queries: options.queries, queriesName: options.queriesName) : nil
        p.calibration?.exclusions = options.exclusions
        p.seed = options.seed ?? config.seed
        p.keepVersions = options.keepVersions ?? config.keepVersions
        p.source = source
        return p
    }

    /// Builds an index version from a vector file (and optional int64 id file) and makes it current.
    public static func build(vectors path: String, ids: String?, config: IndexConfig, options: IndexBuildOptions,
                             progress: ((String) -> Void)? = nil) throws -> BuildReport {
        progress?("reading \(path)")
        let matrix = try VectorFile.readMatrix(path)
        var options = options
        if let q = options.queriesPath {
            options.queries = try VectorFile.readMatrix(q)
            options.queriesName = (q as NSString).lastPathComponent
        }
        let idList = try ids.map(VectorFile.readIDs)
        if let idList, idList.count != matrix.rows {
            throw JobError("\(ids!) holds \(idList.count) ids but \(path) holds \(matrix.rows) vectors")
        }
        let p = parameters(config: config, options: options, vectors: matrix.rows, source: path)
        return try IndexBuilder.build(vectors: matrix, ids: idList, parameters: p, into: options.out ?? config.path, progress: progress)
    }

    /// Each user's known items (a split's train and validation parts) by dense user id, as
    /// calibration exclusions for queries that are the users' embeddings (row = dense user id).
    public static func knownItems(store path: String, split: String?) throws -> [[Int64]] {
        let store = try InteractionStore(path: path, create: false)
        let names = try store.splitNames()
        guard let name = split ?? (names.count == 1 ? names[0] : nil) else {
            throw JobError("the store has splits \(names.joined(separator: ", ")); choose one with --split-name")
        }
        return try EvaluationData.load(store: store, split: name, part: .test).masked.map { $0.map(Int64.init) }
    }

    /// Builds an index version from vectors in memory (row r has id r unless `ids` is given).
    public static func build(vectors: Matrix, ids: [Int64]? = nil, config: IndexConfig, options: IndexBuildOptions = IndexBuildOptions(),
                             source: String, progress: ((String) -> Void)? = nil) throws -> BuildReport {
        let p = parameters(config: config, options: options, vectors: vectors.rows, source: source)
        return try IndexBuilder.build(vectors: vectors, ids: ids, parameters: p, into: options.out ?? config.path, progress: progress)
    }

    /// Deletes `delete`, then adds or replaces the vectors of `vectors` under `ids`, each in one
    /// transaction of the current version.
    public static func update(index path: String, vectors: String?, ids: String?, delete: [Int64]) throws -> UpdateReport {
        let index = try IVFIndex(path: path, writable: true)
        var report = UpdateReport()
        if !delete.isEmpty { report = try index.delete(ids: delete) }
        if let vectors, let ids {
            let upserted = try index.upsert(ids: try VectorFile.readIDs(ids), vectors: try VectorFile.readMatrix(vectors))
            report.added = upserted.added
            report.replaced = upserted.replaced
            report.count = upserted.count
        }
        return report
    }

    /// Re-clusters the current version's vectors into a new version.
    public static func rebuild(index path: String, nlist: Int?, seed: UInt64, keepVersions: Int,
                               progress: ((String) -> Void)? = nil) throws -> BuildReport {
        let current = try IVFIndex(path: path)
        let (vectors, ids) = try current.allVectors()
        var p = BuildParameters(nlist: nlist ?? current.metadata.nlist)
        p.metric = current.metadata.metric
        p.encoding = current.metadata.encoding
        p.layout = current.metadata.nlist == 1 && nlist == nil ? .auto : .ivf
        p.calibration = current.metadata.calibration.map { CalibrationSettings(targetRecall: $0.targetRecall) } ?? CalibrationSettings()
        p.seed = seed
        p.keepVersions = keepVersions
        p.source = "rebuild of \(current.path)"
        return try IndexBuilder.build(vectors: vectors, ids: ids, parameters: p, into: path, progress: progress)
    }
}

/// What `twotower index-stats` reports.
public struct IndexStatistics: Codable, Sendable {
    public var path: String
    public var metadata: IndexMetadata
    public var versions: [String]
    public var listSizeMin: Int, listSizeMedian: Int, listSizeMax: Int, emptyLists: Int
    /// FAISS's imbalance factor nlist · Σ size² / n² (1 for equal lists).
    public var imbalance: Double
    public var bytesOnDisk: Int
    public var bytesPerVector: Double

    /// Reads the figures of the current version of `index` (or of a version directory).
    public init(index: String) throws {
        let opened = try IVFIndex(path: index)
        let sizes = try opened.listSizes().sorted()
        let n = sizes.reduce(0, +)
        let attributes = try FileManager.default.attributesOfItem(atPath: (opened.path as NSString).appendingPathComponent("data.mdb"))
        let bytes = (attributes[.size] as? Int) ?? 0
        path = opened.path
        metadata = opened.metadata
        versions = IndexDirectory(root: index).versions()
        listSizeMin = sizes.first ?? 0
        listSizeMedian = sizes.isEmpty ? 0 : sizes[sizes.count / 2]
        listSizeMax = sizes.last ?? 0
        emptyLists = sizes.filter { $0 == 0 }.count
        imbalance = n == 0 ? 0 : Double(sizes.count) * sizes.reduce(0.0) { $0 + Double($1) * Double($1) } / (Double(n) * Double(n))
        bytesOnDisk = bytes
        bytesPerVector = n == 0 ? 0 : Double(bytes) / Double(n)
    }
}

/// How a calibration reads in a terminal.
public enum CalibrationText {
    /// One line: the chosen setting, its measured recall against the target, and what it was measured on.
    public static func summary(_ c: IndexCalibration, nlist: Int) -> String {
        let setting = nlist == 1 ? "exact scan" : "nprobe \(c.nprobe)" + (c.rerankFactor > 1 || c.curve.contains { $0.rerankFactor > 1 } ? ", re-rank \(c.rerankFactor)·k" : "")
        let speed = c.curve.first { $0.nprobe == c.nprobe && $0.rerankFactor == c.rerankFactor }.map { ", \(Format.count(Int($0.qps))) queries/s single-threaded" } ?? ""
        return "default search: \(setting): recall@10 \(String(format: "%.4f", c.recallAt10)) (target \(String(format: "%.2f", c.targetRecall))"
            + (c.reached ? "" : ", NOT reached") + ")\(speed) on \(c.queries)"
    }
}
