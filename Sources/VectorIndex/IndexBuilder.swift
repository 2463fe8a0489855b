import Foundation
import LinearAlgebra
import LMDB

/// Settings for building an index.
public struct BuildParameters: Sendable {
    public var nlist: Int
    public var metric = Metric.innerProduct
    public var encoding = VectorEncoding.flat
    public var iterations = 10
    /// Vectors sampled to train k-means; 0 uses 256 · nlist (FAISS's default).
    public var trainSample = 0
    public var seed: UInt64 = 1
    public var threads = 2
    /// Published versions to keep (the current one always stays).
    public var keepVersions = 3
    public var chunkCapacity = IndexLayout.defaultChunkCapacity
    /// Recorded in the metadata: where the vectors came from.
    public var source = ""

    public init(nlist: Int) { self.nlist = nlist }
}

/// How many lists an index of `n` vectors gets when the configuration leaves nlist at 0: about
/// 4·√n (FAISS's rule of thumb), at least 1 and at most n.
public enum IVFSizing {
    public static func nlist(vectors n: Int) -> Int {
        max(1, min(n, Int(4 * Double(n).squareRoot())))
    }
}

/// What a build did.
public struct BuildReport: Codable, Sendable {
    public var path: String
    public var count: Int
    public var dimension: Int
    public var nlist: Int
    public var trainSeconds: Double
    public var addSeconds: Double
    public var buildSeconds: Double
    public var kmeansObjective: [Double]
    public var emptyClustersRepaired: Int
}

/// Builds a new index version from vectors and ids, and makes it current.
public enum IndexBuilder {
    /// Builds into the index directory `root` (created when missing).
    /// - Parameters:
    ///   - ids: one per row; nil uses the row numbers.
    ///   - progress: stage messages ("k-means iteration 3/10 …").
    /// - Throws: `IndexError` for bad input (empty, non-finite, duplicate ids, nlist > n); on any
    ///   error the previous version stays current and the partial build is removed.
    public static func build(vectors input: Matrix, ids: [Int64]? = nil, parameters p: BuildParameters,
                             into root: String, progress: ((String) -> Void)? = nil) throws -> BuildReport {
        let started = Date()
        let directory = IndexDirectory(root: root)
        // Held until the new version is published (or the build fails): one build per directory.
        let lock = try directory.lockForBuild()
        defer { withExtendedLifetime(lock) {} }
        let n = input.rows, d = input.cols
        guard n > 0, d > 0 else { throw IndexError.emptyInput("the vector set") }
        guard p.nlist >= 1 else { throw IndexError.badParameter("nlist must be at least 1, not \(p.nlist)") }
        guard p.nlist <= n else { throw IndexError.tooFewVectors(count: n, nlist: p.nlist) }
        if p.encoding == .sq8 && p.metric == .l2 {
            throw IndexError.badParameter("sq8 encoding supports the inner_product and cosine metrics; use flat for l2")
        }
        try VectorFile.checkFinite(input, source: "the vector set")
        if p.metric == .cosine, let zero = firstZeroRow(input) {
            throw IndexError.badParameter("row \(zero) of the vector set is all zeros: a cosine index needs a direction for every vector")
        }
        let ids = ids ?? (0..<n).map(Int64.init)
        guard ids.count == n else { throw IndexError.badParameter("\(ids.count) ids for \(n) vectors") }
        var seen = Set<Int64>(minimumCapacity: n)
        for id in ids where !seen.insert(id).inserted { throw IndexError.duplicateID(id) }
        seen = []

        var vectors = input
        if p.metric == .cosine { KMeans.normalizeRows(&vectors) }

        var kp = KMeansParameters(k: p.nlist)
        kp.iterations = p.iterations
        kp.trainSample = p.trainSample
        kp.spherical = p.metric.spherical
        kp.seed = p.seed
        kp.threads = p.threads
        let clustering = try KMeans.train(vectors, parameters: kp) { iteration, objective in
            progress?("k-means iteration \(iteration)/\(kp.iterations), objective \(String(format: "%.6g", objective))")
            TestHold.reach("kmeans", in: root)
        }
        let trained = Date()
        progress?("assigning \(n) vectors to \(p.nlist) lists")
        let (assignment, _) = KMeans.assign(vectors, to: clustering.centroids, spherical: p.metric.spherical, threads: p.threads)

        let (building, name) = try directory.beginBuild()
        do {
            try write(vectors: vectors, ids: ids, assignment: assignment, centroids: clustering.centroids,
                      parameters: p, to: building, started: started, progress: progress)
        } catch {
            try? FileManager.default.removeItem(atPath: building)
            throw error
        }
        TestHold.reach("synced", in: root)
        let published = try directory.publish(building: building, name: name, keep: p.keepVersions)
        let finished = Date()
        return BuildReport(path: published, count: n, dimension: d, nlist: p.nlist,
                           trainSeconds: trained.timeIntervalSince(started),
                           addSeconds: finished.timeIntervalSince(trained),
                           buildSeconds: finished.timeIntervalSince(started),
                           kmeansObjective: clustering.objective, emptyClustersRepaired: clustering.emptyClustersRepaired)
    }

    /// The first row of `m` whose entries are all zero, if any.
    static func firstZeroRow(_ m: Matrix) -> Int? {
        m.values.withUnsafeBufferPointer { v in
            (0..<m.rows).first { r in (0..<m.cols).allSatisfy { v[r * m.cols + $0] == 0 } }
        }
    }

    private static func write(vectors: Matrix, ids: [Int64], assignment: [Int32], centroids: Matrix,
                              parameters p: BuildParameters, to path: String, started: Date,
                              progress: ((String) -> Void)?) throws {
        let n = vectors.rows, d = vectors.cols
        // Rows grouped by list, in row order within a list (a counting sort).
        var starts = [Int](repeating: 0, count: p.nlist + 1)
        for a in assignment { starts[Int(a) + 1] += 1 }
        for l in 0..<p.nlist { starts[l + 1] += starts[l] }
        var order = [Int](repeating: 0, count: n)
        var fill = starts
        for (row, a) in assignment.enumerated() {
            order[fill[Int(a)]] = row
            fill[Int(a)] += 1
        }
        // SQ8 codes the residual to the list's centroid, whose range is far narrower than the
        // vectors', so the 255 steps are correspondingly finer.
        let quantizer = p.encoding == .sq8 ? ScalarQuantizer(residualsOf: vectors, centroids: centroids, assignment: assignment) : nil
        var residual = [Float](repeating: 0, count: d)
        let vectorBytes = IndexLayout.vectorBytes(p.encoding, dimension: d)
        let estimate = n * (8 + vectorBytes + 48) + (p.encoding == .sq8 ? n * (4 * d + 32) : 0) + p.nlist * d * 4
        var options = EnvironmentOptions(mapSize: max(64 << 20, estimate * 2), maxDatabases: 8)
        options.noSync = true  // one explicit sync at the end, before publishing
        let env = try Environment(path: path, options: options)
        progress?("writing \(n) vectors into \(p.nlist) lists")
        try env.write { txn in
            let meta = try txn.openDatabase(named: "meta", create: true)
            let lists = try txn.openDatabase(named: "lists", create: true)
            let idsDB = try txn.openDatabase(named: "ids", create: true)
            let raw = try txn.openDatabase(named: "vectors", create: true)
            try txn.put(centroids.values.withUnsafeBytes { Array($0) }, forKey: Array("centroids".utf8), in: meta)
            if let quantizer { try txn.put(quantizer.serialized, forKey: Array("sq8".utf8), in: meta) }
            var code = [UInt8](repeating: 0, count: d)
            try vectors.values.withUnsafeBufferPointer { xs in
                for list in 0..<p.nlist {
                    if list % 256 == 0 { progress?("writing list \(list + 1) of \(p.nlist) (\(100 * list / p.nlist)%)") }
                    if list == p.nlist / 2 { TestHold.reach("writing", in: ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent) }
                    let members = order[starts[list]..<starts[list + 1]]
                    var chunk = 0
                    var offset = members.startIndex
                    while offset < members.endIndex {
                        let count = min(p.chunkCapacity, members.endIndex - offset)
                        let rows = members[offset..<(offset + count)]
                        try txn.putReserved(size: count * (8 + vectorBytes), forKey: IndexLayout.listKey(list, chunk), in: lists) { out in
                            for (slot, row) in rows.enumerated() {
                                out.storeBytes(of: ids[row], toByteOffset: 8 * slot, as: Int64.self)
                                let at = 8 * count + slot * vectorBytes
                                if let quantizer {
                                    for j in 0..<d { residual[j] = xs[row * d + j] - centroids[list, j] }
                                    residual.withUnsafeBufferPointer { quantizer.encode($0, into: &code) }
                                    code.withUnsafeBytes { (out.baseAddress! + at).copyMemory(from: $0.baseAddress!, byteCount: d) }
                                } else {
                                    (out.baseAddress! + at).copyMemory(from: xs.baseAddress! + row * d, byteCount: 4 * d)
                                }
                            }
                        }
                        offset += count
                        chunk += 1
                    }
                }
            }
            // Id → location (and full vectors for SQ8 re-ranking), in id order so LMDB can append.
            var position = [Int](repeating: 0, count: n)
            for list in 0..<p.nlist { for (i, row) in order[starts[list]..<starts[list + 1]].enumerated() { position[row] = i } }
            let byID = (0..<n).sorted { ids[$0] < ids[$1] }
            for row in byID {
                let key = IndexLayout.idKey(ids[row])
                try txn.put(IndexLayout.location(Int(assignment[row]), position[row]), forKey: key, in: idsDB, append: true)
                if quantizer != nil {
                    try txn.put(Array(vectors.row(row)).withUnsafeBytes { Array($0) }, forKey: key, in: raw, append: true)
                }
            }
            let metadata = IndexMetadata(
                formatVersion: IndexLayout.formatVersion, dimension: d, metric: p.metric, nlist: p.nlist, count: n,
                encoding: p.encoding, chunkCapacity: p.chunkCapacity, source: p.source,
                builtAt: ISO8601DateFormatter().string(from: Date()),
                buildSeconds: Date().timeIntervalSince(started), complete: true, calibration: nil)
            try txn.put(try IndexLayout.encodeMetadata(metadata), forKey: Array("meta".utf8), in: meta)
        }
        try env.sync()
    }
}

/// A test-only hook: with `TWOTOWER_TEST_HOLD_AT=<phase>` in the environment, a build that reaches
/// that phase (`kmeans`, `writing`, `synced`) writes `<dir>/held-<phase>` and waits there until it
/// is killed, so a test can kill it at a named point instead of racing a timer. Without the
/// variable it does nothing.
enum TestHold {
    static let phase = ProcessInfo.processInfo.environment["TWOTOWER_TEST_HOLD_AT"]

    static func reach(_ name: String, in directory: String) {
        guard phase == name else { return }
        FileManager.default.createFile(atPath: (directory as NSString).appendingPathComponent("held-\(name)"), contents: Data())
        while true { sleep(60) }
    }
}
