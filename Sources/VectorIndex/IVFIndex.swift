import CKernels
import Foundation
import LinearAlgebra
import LMDB

/// Search knobs, passed per query (FAISS's `SearchParametersIVF`).
public struct SearchParameters: Sendable {
    /// Results wanted.
    public var k = 10
    /// Lists scanned: the `nprobe` whose centroids score best against the query.
    public var nprobe = 8
    /// Ids never returned (for example the items a user has already seen).
    public var exclude: Set<Int64> = []
    /// When set, only ids it accepts are returned (for example items of one category).
    public var allow: (@Sendable (Int64) -> Bool)?
    /// SQ8 only: how many candidates (a multiple of k) are re-ranked with full-precision vectors.
    /// How many are needed depends on the data: `ann-eval --rerank-factor` measures it, and a
    /// calibrated build records the smallest that reaches its target recall.
    public var rerankFactor = 4

    public init(k: Int = 10, nprobe: Int = 8) {
        self.k = k
        self.nprobe = nprobe
    }

    var filtered: Bool { !exclude.isEmpty || allow != nil }
}

/// An IVF index opened from its LMDB file, searched with zero-copy scans of its inverted lists.
///
/// Safe to search from many threads at once: each search runs in its own read transaction, so it
/// sees one consistent version of the lists even while an update commits.
public final class IVFIndex: @unchecked Sendable {
    /// The version directory that was opened.
    public let path: String
    public let metadata: IndexMetadata
    /// nlist × d.
    public let centroids: Matrix
    let environment: Environment
    let lists: Database
    let idsDB: Database
    let raw: Database
    let quantizer: ScalarQuantizer?

    /// Opens the current version of the index directory `path`, or a version directory itself.
    /// - Throws: `IndexError.missingIndex`, `.notAnIndex` (a foreign or corrupt file, or an
    ///   interrupted build), `.formatFromTheFuture`.
    public init(path: String, writable: Bool = false) throws {
        let fm = FileManager.default
        let version: String
        if let current = IndexDirectory(root: path).currentVersion() {
            version = current
        } else if fm.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb")) {
            version = path
        } else {
            throw IndexError.missingIndex(path: path)
        }
        self.path = version
        var options = EnvironmentOptions(mapSize: 1 << 30, maxDatabases: 8, readOnly: !writable)
        options.maxMapSize = 1 << 42
        do {
            environment = try Environment(path: version, options: options)
            let opened = try environment.read { txn -> (Database, Database, Database, Database) in
                (try txn.openDatabase(named: "meta"), try txn.openDatabase(named: "lists"),
                 try txn.openDatabase(named: "ids"), try txn.openDatabase(named: "vectors"))
            }
            lists = opened.1
            idsDB = opened.2
            raw = opened.3
            let (metadata, centroids, quantizer) = try environment.read { txn -> (IndexMetadata, Matrix, ScalarQuantizer?) in
                guard let metadata = try txn.withValue(forKey: Array("meta".utf8), in: opened.0, { try IndexLayout.decodeMetadata($0, path: version) }) else {
                    throw IndexError.notAnIndex(path: version, reason: "no metadata")
                }
                guard metadata.complete else { throw IndexError.notAnIndex(path: version, reason: "its build did not finish") }
                let (floats, overflow) = metadata.nlist.multipliedReportingOverflow(by: metadata.dimension)
                guard metadata.nlist >= 1, metadata.dimension >= 1, metadata.count >= 0, metadata.chunkCapacity >= 1, !overflow else {
                    throw IndexError.notAnIndex(path: version, reason: "its metadata has impossible sizes")
                }
                let values = try txn.withValue(forKey: Array("centroids".utf8), in: opened.0) { bytes -> [Float] in
                    guard bytes.count == 4 * floats else { return [] }
                    return (0..<floats).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
                } ?? []
                guard values.count == floats else {
                    throw IndexError.notAnIndex(path: version, reason: "centroids do not match nlist × dimension")
                }
                let quantizer = try txn.withValue(forKey: Array("sq8".utf8), in: opened.0) { bytes -> ScalarQuantizer? in
                    guard let sq = ScalarQuantizer.deserialize(bytes, dimension: metadata.dimension) else {
                        throw IndexError.notAnIndex(path: version, reason: "its SQ8 ranges do not match the dimension")
                    }
                    return sq
                } ?? nil
                return (metadata, Matrix(rows: metadata.nlist, cols: metadata.dimension, values: values), quantizer)
            }
            self.metadata = metadata
            self.centroids = centroids
            self.quantizer = quantizer
        } catch let error as LMDBError {
            throw IndexError.notAnIndex(path: version, reason: error.description)
        }
    }

    public var dimension: Int { metadata.dimension }

    /// The `k` best items for `query` (higher score is better: inner product, cosine, or the
    /// negated squared L2 distance). When the `nprobe` lists hold fewer than `k` candidates
    /// (allowed by the filters), more lists are probed until they do or every list is scanned.
    /// - Throws: `IndexError.dimensionMismatch`, `.nonFinite`, `.badParameter` for k or nprobe < 1.
    public func search(_ query: [Float], parameters: SearchParameters) throws -> [Neighbor] {
        let q = try prepare(query)
        let scores = centroidScores(q)
        return try environment.read { txn in try scan(q, centroidScores: scores, parameters: parameters, txn: txn) }
    }

    /// Scores of a prepared query against every centroid, in list order.
    func centroidScores(_ q: [Float]) -> [Float] {
        var scores = [Float](repeating: 0, count: metadata.nlist)
        score(q, against: centroids.values, count: metadata.nlist, into: &scores)
        return scores
    }

    /// Searches many queries: centroid scores for all of them in one sgemm, then the scans spread
    /// over `threads` threads (each a contiguous range of queries in one read transaction).
    public func search(batch queries: Matrix, parameters: SearchParameters, threads: Int = 2) throws -> [[Neighbor]] {
        guard queries.cols == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: queries.cols, what: "the query batch") }
        var prepared = queries
        try VectorFile.checkFinite(prepared, source: "the query batch")
        metadata.metric.prepare(&prepared)
        var scores = BLAS.multiply(prepared, .none, centroids, .transposed)
        if let bias = metadata.metric.rankingBias(centroids) {
            for r in 0..<scores.rows { for c in 0..<scores.cols { scores[r, c] -= bias[c] } }
        }
        let parts = max(1, min(threads, queries.rows))
        let (ranked, centroidScores) = (prepared, scores)
        return try Parallel.map(parts: parts) { part in
            try self.environment.read { txn in
                try Parallel.range(part, of: parts, count: queries.rows).map { r in
                    try self.scan(Array(ranked.row(r)), centroidScores: Array(centroidScores.row(r)), parameters: parameters, txn: txn)
                }
            }
        }.flatMap { $0 }
    }

    // MARK: Scanning

    func prepare(_ query: [Float]) throws -> [Float] {
        guard query.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: query.count, what: "the query") }
        for (j, v) in query.enumerated() where !v.isFinite { throw IndexError.nonFinite(source: "the query", row: 0, column: j, value: v) }
        var prepared = Matrix(rows: 1, cols: dimension, values: query)
        metadata.metric.prepare(&prepared)
        return prepared.values
    }

    /// Higher-is-better scores of `q` against `count` float vectors at `vectors`.
    func score(_ q: [Float], against vectors: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        if metadata.metric == .l2 {
            tt_l2_squared(q, vectors, count, dimension, out)
            for i in 0..<count { out[i] = -out[i] }
        } else {
            tt_inner_products(q, vectors, count, dimension, out)
        }
    }

    func score(_ q: [Float], against vectors: [Float], count: Int, into out: inout [Float]) {
        vectors.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in score(q, against: v.baseAddress!, count: count, into: o.baseAddress!) }
        }
    }

    func scan(_ q: [Float], centroidScores: [Float], parameters p: SearchParameters, txn: ReadTransaction) throws -> [Neighbor] {
        try scanCountingLists(q, centroidScores: centroidScores, parameters: p, txn: txn).neighbors
    }

    /// The search behind `scan`, also saying how many lists it read (for tests of the widening).
    func scanCountingLists(_ q: [Float], centroidScores: [Float], parameters p: SearchParameters,
                           txn: ReadTransaction) throws -> (neighbors: [Neighbor], lists: Int) {
        guard p.k >= 1 else { throw IndexError.badParameter("k must be at least 1, not \(p.k)") }
        guard p.nprobe >= 1 else { throw IndexError.badParameter("nprobe must be at least 1, not \(p.nprobe)") }
        let nlist = metadata.nlist
        let probes = min(p.nprobe, nlist)
        // The nprobe best lists, best first.
        var best = TopK(k: probes)
        for (c, s) in centroidScores.enumerated() { best.push(s, Int64(c)) }
        var order = best.sorted().map { Int($0.id) }
        let keep = quantizer == nil ? p.k : p.k * max(p.rerankFactor, 1)
        var top = TopK(k: keep)
        var scratch = [Float](repeating: 0, count: metadata.chunkCapacity)
        let qstep = quantizer.map { sq in (0..<dimension).map { q[$0] * sq.steps[$0] } }
        // SQ8 codes residuals: score = q·c_list + Σ_j q_j (min_j + code_j · step_j). SQ8 indexes are
        // inner-product or cosine, so the centroid score already is q·c_list.
        let qmin = quantizer.map { sq in (0..<dimension).reduce(Float(0)) { $0 + q[$1] * sq.minimums[$1] } } ?? 0
        var scanned = 0
        try txn.withCursor(in: lists) { cursor in
            while scanned < nlist {
                // The nprobe lists may hold fewer than k candidates (small lists, or filters that
                // reject many): widen the probe one list at a time, in centroid-score order, only
                // until enough are found, so k answers come back whenever k items exist.
                if scanned >= probes && top.count >= keep { break }
                if scanned == order.count {
                    let probed = Set(order)
                    order += (0..<nlist).filter { !probed.contains($0) }.sorted { centroidScores[$0] > centroidScores[$1] }
                }
                let list = order[scanned]
                try scanList(list, cursor: cursor, q: q, qstep: qstep, qbase: qmin + centroidScores[list],
                             parameters: p, top: &top, scratch: &scratch)
                scanned += 1
            }
        }
        guard quantizer != nil else { return (top.neighbors(), scanned) }
        return (try rerank(top.neighbors(), q: q, k: p.k, txn: txn), scanned)
    }

    private func scanList(_ list: Int, cursor: Cursor, q: [Float], qstep: [Float]?, qbase: Float,
                          parameters p: SearchParameters, top: inout TopK, scratch: inout [Float]) throws {
        let d = dimension
        let vectorBytes = IndexLayout.vectorBytes(metadata.encoding, dimension: d)
        guard try cursor.seek(atLeast: IndexLayout.listKey(list, 0)) else { return }
        while true {
            let sameList = try cursor.withCurrent { key, value -> Bool in
                guard IndexLayout.decodeListKey(key).list == list else { return false }
                let count = value.count / (8 + vectorBytes)
                let base = value.baseAddress!
                scratch.withUnsafeMutableBufferPointer { out in
                    if let qstep {
                        qstep.withUnsafeBufferPointer { qs in
                            tt_inner_products_sq8(qs.baseAddress!, qbase, (base + 8 * count).assumingMemoryBound(to: UInt8.self), count, d, out.baseAddress!)
                        }
                    } else {
                        score(q, against: (base + 8 * count).assumingMemoryBound(to: Float.self), count: count, into: out.baseAddress!)
                    }
                    var threshold = top.threshold
                    for i in 0..<count where out[i] >= threshold {
                        let id = value.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)
                        if p.filtered {
                            if p.exclude.contains(id) { continue }
                            if let allow = p.allow, !allow(id) { continue }
                        }
                        top.push(out[i], id)
                        threshold = top.threshold
                    }
                }
                return true
            }
            guard sameList, try cursor.move(.next) else { return }
        }
    }

    /// Re-scores SQ8 candidates with their full-precision vectors and keeps the best k.
    private func rerank(_ candidates: [Neighbor], q: [Float], k: Int, txn: ReadTransaction) throws -> [Neighbor] {
        var top = TopK(k: k)
        var s: [Float] = [0]
        for c in candidates {
            let found = try txn.withValue(forKey: IndexLayout.idKey(c.id), in: raw) { bytes -> Bool in
                s.withUnsafeMutableBufferPointer { out in
                    score(q, against: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: 1, into: out.baseAddress!)
                }
                return true
            }
            if found == true { top.push(s[0], c.id) }
        }
        return top.neighbors()
    }

    // MARK: Reading back

    /// Every stored vector with its id, in list order (flat indexes; SQ8 gives the full-precision
    /// copies). For exact-search baselines and exports.
    public func allVectors() throws -> (vectors: Matrix, ids: [Int64]) {
        let d = dimension
        var values = [Float](), ids = [Int64]()
        values.reserveCapacity(metadata.count * d)
        ids.reserveCapacity(metadata.count)
        try environment.read { txn in
            if metadata.encoding == .sq8 {
                try txn.forEach(in: raw) { key, value in
                    let ordered = UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) ^ (1 << 63)
                    ids.append(Int64(bitPattern: ordered))
                    values += value.bindMemory(to: Float.self)
                    return true
                }
                return
            }
            try txn.forEach(in: lists) { _, value in
                let count = value.count / (8 + 4 * d)
                for i in 0..<count { ids.append(value.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                values += UnsafeRawBufferPointer(rebasing: value[(8 * count)...]).bindMemory(to: Float.self)
                return true
            }
        }
        return (Matrix(rows: ids.count, cols: d, values: values), ids)
    }

    /// The stored vector of `id` (full precision for SQ8 indexes).
    /// - Throws: `IndexError.unknownID`.
    public func vector(id: Int64) throws -> [Float] {
        let d = dimension
        let found = try environment.read { txn -> [Float]? in
            if metadata.encoding == .sq8 {
                return try txn.withValue(forKey: IndexLayout.idKey(id), in: raw) { Array($0.bindMemory(to: Float.self)) }
            }
            guard let (list, position) = try txn.withValue(forKey: IndexLayout.idKey(id), in: idsDB, IndexLayout.decodeLocation) else { return nil }
            let capacity = metadata.chunkCapacity
            return try txn.withValue(forKey: IndexLayout.listKey(list, position / capacity), in: lists) { value in
                let count = value.count / (8 + 4 * d), slot = position % capacity
                return (0..<d).map { value.loadUnaligned(fromByteOffset: 8 * count + 4 * (slot * d + $0), as: Float.self) }
            }
        }
        guard let found else { throw IndexError.unknownID(id) }
        return found
    }

    /// Vectors per list, in list order.
    public func listSizes() throws -> [Int] {
        var sizes = [Int](repeating: 0, count: metadata.nlist)
        let vectorBytes = IndexLayout.vectorBytes(metadata.encoding, dimension: dimension)
        try environment.read { txn in
            try txn.forEach(in: lists) { key, value in
                sizes[IndexLayout.decodeListKey(key).list] += value.count / (8 + vectorBytes)
                return true
            }
        }
        return sizes
    }
}
