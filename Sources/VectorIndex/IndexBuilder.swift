import Foundation
import LinearAlgebra
import LMDB

/// Which list layout a build makes.
public enum IndexLayoutChoice: String, Codable, Sendable, CaseIterable {
    /// Exact (one flat list) for small sets and whenever scanning everything is measured to be
    /// as fast as the calibrated IVF search; IVF otherwise.
    case auto
    /// Always IVF with the requested nlist and encoding.
    case ivf
    /// Always one flat list, scanned exactly.
    case exact
}

/// Settings for building an index.
public struct BuildParameters: Sendable {
    public var nlist: Int
    public var metric = Metric.innerProduct
    public var encoding = VectorEncoding.flat
    public var layout = IndexLayoutChoice.auto
    /// With `layout: auto`, sets of at most this many bytes of float32 vectors are indexed
    /// exactly without trying IVF (see `docs/benchmarks.md` for the measurement behind it).
    public var exactBelowBytes = 16 << 20
    /// k-means iterations (FAISS's IVF default).
    public var iterations = 10
    /// Vectors sampled to train k-means; 0 uses `KMeansParameters`' default.
    public var trainSample = 0
    /// PQ4 sub-quantizers (0: `PQ4Encoding.defaultSubQuantizers`).
    public var subQuantizers = 0
    /// Measure recall against exact search after building and record the fastest setting that
    /// reaches the target; nil skips it (searches then default to nprobe 8).
    public var calibration: CalibrationSettings? = CalibrationSettings()
    public var seed: UInt64 = 1
    public var threads = 2
    /// Published versions to keep (the current one always stays).
    public var keepVersions = 3
    public var chunkCapacity = 1_024
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
    public var encoding: VectorEncoding
    /// k-means and codec training.
    public var trainSeconds: Double
    /// Assigning, encoding and writing the lists.
    public var addSeconds: Double
    /// Measuring recall and speed for the default search setting.
    public var calibrationSeconds: Double
    public var buildSeconds: Double
    public var kmeansObjective: [Double]
    public var emptyClustersRepaired: Int
    public var calibration: IndexCalibration?
    /// Why the build chose its layout, when it chose.
    public var layoutNote: String?
}

/// Builds a new index version from vectors and ids, and makes it current: k-means centroids,
/// the encoding's training, the lists, then (by default) a calibration of the default search
/// setting against exact search, after which a set that an exact scan serves as fast is
/// rewritten as one exact list.
public enum IndexBuilder {
    /// Builds into the index directory `root` (created when missing).
    /// - Parameters:
    ///   - ids: one per row; nil uses the row numbers.
    ///   - progress: stage messages ("k-means iteration 3/20 …").
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
        if p.encoding != .flat && p.metric == .l2 {
            throw IndexError.badParameter("\(p.encoding.rawValue) encoding supports the inner_product and cosine metrics; use flat for l2")
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

        let small = n * d * 4 <= p.exactBelowBytes
        var layout = p.layout
        var note: String?
        if layout == .auto && (small || p.nlist == 1) {
            layout = .exact
            note = p.nlist == 1 ? "exact: nlist 1" : "exact: \(n) × \(d) float32 (\(n * d * 4 / 1_048_576) MiB) is at most the \(p.exactBelowBytes / 1_048_576) MiB below which an exact scan is used"
        } else if layout == .ivf || layout == .auto {
            guard p.nlist <= n else { throw IndexError.tooFewVectors(count: n, nlist: p.nlist) }
        }

        let (building, name) = try directory.beginBuild()
        do {
            var attempt = try buildVersion(vectors: vectors, ids: ids, layout: layout, parameters: p, at: building,
                                           root: root, started: started, progress: progress)
            if p.layout == .auto, layout == .ivf || layout == .auto, let c = attempt.calibration, c.reached, let exact = c.exactQPS,
               let chosen = c.curve.first(where: { $0.nprobe == c.nprobe && $0.rerankFactor == c.rerankFactor }), exact >= chosen.qps {
                // Scanning everything is as fast as the calibrated IVF search: write the exact
                // layout instead.
                let why = "exact: scanning all \(n) vectors (\(Int(exact)) queries/s) is as fast as IVF at nprobe \(c.nprobe) (\(Int(chosen.qps)) queries/s)"
                progress?(why)
                try FileManager.default.removeItem(atPath: building)
                try FileManager.default.createDirectory(atPath: building, withIntermediateDirectories: true)
                let ivfTrain = attempt.trainSeconds
                attempt = try buildVersion(vectors: vectors, ids: ids, layout: .exact, parameters: p, at: building,
                                           root: root, started: started, progress: progress)
                attempt.trainSeconds += ivfTrain
                note = why
            }
            try finish(attempt, note: note, at: building, parameters: p, started: started)
            TestHold.reach("synced", in: root)
            let published = try directory.publish(building: building, name: name, keep: p.keepVersions)
            attempt.report.path = published
            attempt.report.layoutNote = note
            attempt.report.buildSeconds = Date().timeIntervalSince(started)
            return attempt.report
        } catch {
            try? FileManager.default.removeItem(atPath: building)
            throw error
        }
    }

    /// The first row of `m` whose entries are all zero, if any.
    static func firstZeroRow(_ m: Matrix) -> Int? {
        m.values.withUnsafeBufferPointer { v in
            (0..<m.rows).first { r in (0..<m.cols).allSatisfy { v[r * m.cols + $0] == 0 } }
        }
    }

    /// One written (not yet published) version and what building it took.
    struct Attempt {
        var report: BuildReport
        var metadata: IndexMetadata
        var lists: LMDBInvertedLists
        var trainSeconds: Double { get { report.trainSeconds } set { report.trainSeconds = newValue } }
        var calibration: IndexCalibration? { report.calibration }
    }

    /// Trains, writes and calibrates one layout at `path`.
    private static func buildVersion(vectors: Matrix, ids: [Int64], layout: IndexLayoutChoice, parameters p: BuildParameters,
                                     at path: String, root: String, started: Date, progress: ((String) -> Void)?) throws -> Attempt {
        let n = vectors.rows, d = vectors.cols
        let t0 = Date()
        let exact = layout == .exact
        let nlist = exact ? 1 : p.nlist
        let encodingName = exact ? VectorEncoding.flat : p.encoding
        var centroids: Matrix
        var objective: [Double] = []
        var repaired = 0
        var assignment: [Int32]
        if exact {
            centroids = Matrix(rows: 1, cols: d)
            assignment = [Int32](repeating: 0, count: n)
        } else {
            var kp = KMeansParameters(k: nlist)
            kp.iterations = p.iterations
            kp.trainSample = p.trainSample
            kp.spherical = p.metric.spherical
            kp.seed = p.seed
            kp.threads = p.threads
            let clustering = try KMeans.train(vectors, parameters: kp) { iteration, value in
                progress?("k-means iteration \(iteration)/\(kp.iterations), objective \(String(format: "%.6g", value))")
                TestHold.reach("kmeans", in: root)
            }
            (centroids, objective, repaired) = (clustering.centroids, clustering.objective, clustering.emptyClustersRepaired)
            progress?("assigning \(n) vectors to \(nlist) lists")
            assignment = KMeans.assign(vectors, to: centroids, spherical: p.metric.spherical, threads: p.threads).assignment
        }
        let encoding: any ListEncoding
        switch encodingName {
        case .flat: encoding = FlatEncoding(dimension: d)
        case .sq8: encoding = SQ8Encoding(residualsOf: vectors, centroids: centroids, assignment: assignment)
        case .pq4:
            let m = p.subQuantizers > 0 ? p.subQuantizers : PQ4Encoding.defaultSubQuantizers(dimension: d)
            progress?("training \(m) 4-bit sub-quantizers")
            encoding = try PQ4Encoding(residualsOf: vectors, centroids: centroids, assignment: assignment, subQuantizers: m, seed: p.seed)
        }
        let t1 = Date()
        progress?("encoding and writing \(n) vectors into \(nlist) list\(nlist == 1 ? "" : "s")")
        let codes = ListFilling.encode(vectors, assignment: assignment, centroids: centroids, encoding: encoding, threads: p.threads)
        let perVector = 8 + 12 + 40 + encoding.packedBytes(count: 1024) / 1024 + (encoding.keepsFullVectors ? 4 * d : 0)
        let lists = try LMDBInvertedLists(creatingAt: path, format: ListFormat(encoding: encoding, chunkCapacity: p.chunkCapacity),
                                          mapSize: max(64 << 20, 2 * (n * perVector + nlist * d * 4)))
        var metadata = IndexMetadata(
            formatVersion: MetadataCoding.formatVersion, dimension: d, metric: p.metric, nlist: nlist, count: n,
            encoding: encodingName, chunkCapacity: p.chunkCapacity, source: p.source,
            builtAt: ISO8601DateFormatter().string(from: Date()), buildSeconds: 0, complete: false, calibration: nil)
        try lists.write { writer in
            try writer.setValue(centroids.values.withUnsafeBytes { Array($0) }, forKey: "centroids")
            try writer.setValue(encoding.serialized, forKey: "codec")
            try ListFilling.append(vectors: vectors, ids: ids, assignment: assignment, codes: codes, nlist: nlist,
                                   encoding: encoding, to: writer) { done in
                progress?("wrote list \(done) of \(nlist) (\(100 * done / nlist)%)")
                if done >= nlist / 2 && done - 256 < nlist / 2 { TestHold.reach("writing", in: root) }
            }
            // Complete for the calibration's reads; `finish` rewrites it with the results.
            metadata.complete = true
            try writer.setValue(try MetadataCoding.encode(metadata), forKey: "meta")
        }
        let t2 = Date()
        var calibration: IndexCalibration?
        if let settings = p.calibration {
            let opened = try IVFIndex(path: path)
            calibration = try IndexCalibrator.calibrate(opened, base: vectors, ids: ids, settings: settings, threads: p.threads, progress: progress)
        }
        let t3 = Date()
        metadata.calibration = calibration
        let report = BuildReport(path: path, count: n, dimension: d, nlist: nlist, encoding: encodingName,
                                 trainSeconds: t1.timeIntervalSince(t0), addSeconds: t2.timeIntervalSince(t1),
                                 calibrationSeconds: t3.timeIntervalSince(t2), buildSeconds: t3.timeIntervalSince(started),
                                 kmeansObjective: objective, emptyClustersRepaired: repaired, calibration: calibration)
        return Attempt(report: report, metadata: metadata, lists: lists)
    }

    /// Records the calibration and the build time in the metadata and syncs, ready to publish.
    private static func finish(_ attempt: Attempt, note: String?, at path: String, parameters p: BuildParameters, started: Date) throws {
        var metadata = attempt.metadata
        metadata.calibration = attempt.calibration
        metadata.layoutNote = note
        metadata.buildSeconds = Date().timeIntervalSince(started)
        metadata.builtAt = ISO8601DateFormatter().string(from: Date())
        try attempt.lists.write { writer in try writer.setValue(try MetadataCoding.encode(metadata), forKey: "meta") }
        try attempt.lists.sync()
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
        _ = FileManager.default.createFile(atPath: (directory as NSString).appendingPathComponent("held-\(name)"), contents: Data())
        while true { sleep(60) }
    }
}
