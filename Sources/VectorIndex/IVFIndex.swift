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
    /// SQ8 and PQ4: how many candidates (a multiple of k) are re-ranked with full-precision
    /// vectors. How many are needed depends on the data: `ann-eval --rerank-factor` measures it,
    /// and a calibrated build records the smallest that reaches its target recall.
    public var rerankFactor = 4

    public init(k: Int = 10, nprobe: Int = 8) {
        self.k = k
        self.nprobe = nprobe
    }

    var filtered: Bool { !exclude.isEmpty || allow != nil }
}

/// An IVF index opened from its directory: centroids in memory, lists behind `InvertedLists`.
/// A search scores the centroids, asks the encoding for a scanner, reads the best lists' chunks
/// through it, and (for encodings that re-rank) re-scores the best candidates with the
/// full-precision vectors stored beside their codes. It never sees how lists are stored.
///
/// Safe to search from many threads at once: each search runs on one snapshot of the lists, so
/// it sees one consistent version even while an update commits.
public final class IVFIndex: @unchecked Sendable {
    /// The version directory that was opened.
    public let path: String
    public let metadata: IndexMetadata
    /// nlist × d.
    public let centroids: Matrix
    public let lists: any InvertedLists
    public var encoding: any ListEncoding { lists.encoding }

    /// Opens the current version of the index directory `path`, or a version directory itself.
    /// - Throws: `IndexError.missingIndex`, `.notAnIndex` (a foreign or corrupt file, or an
    ///   interrupted build), `.formatFromTheFuture`, `.formatTooOld`.
    public init(path: String, writable: Bool = false) throws {
        let version: String
        if let current = IndexDirectory(root: path).currentVersion() {
            version = current
        } else if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb")) {
            version = path
        } else {
            throw IndexError.missingIndex(path: path)
        }
        self.path = version
        var metadata: IndexMetadata?
        var centroids: Matrix?
        do {
            lists = try LMDBInvertedLists(openingAt: version, writable: writable) { value in
                let (m, c, encoding) = try Self.readHeader(value, path: version)
                (metadata, centroids) = (m, c)
                return ListFormat(encoding: encoding, chunkCapacity: m.chunkCapacity)
            }
        } catch let error as LMDBError {
            throw IndexError.notAnIndex(path: version, reason: error.description)
        }
        self.metadata = metadata!
        self.centroids = centroids!
    }

    /// The metadata, centroids and encoding of a version, checked against each other.
    static func readHeader(_ value: (String) throws -> [UInt8]?, path: String) throws -> (IndexMetadata, Matrix, any ListEncoding) {
        guard let bytes = try value("meta") else { throw IndexError.notAnIndex(path: path, reason: "no metadata") }
        let m = try MetadataCoding.decode(bytes, path: path)
        guard m.complete else { throw IndexError.notAnIndex(path: path, reason: "its build did not finish") }
        let (floats, overflow) = m.nlist.multipliedReportingOverflow(by: m.dimension)
        guard m.nlist >= 1, m.dimension >= 1, m.count >= 0, m.chunkCapacity >= 1, m.chunkCapacity <= 1 << 20, !overflow else {
            throw IndexError.notAnIndex(path: path, reason: "its metadata has impossible sizes")
        }
        guard let raw = try value("centroids"), raw.count == 4 * floats else {
            throw IndexError.notAnIndex(path: path, reason: "centroids do not match nlist × dimension")
        }
        let values = raw.withUnsafeBytes { b in (0..<floats).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        let codec = try value("codec") ?? []
        guard let encoding = codec.withUnsafeBytes({ m.encoding.decode($0, dimension: m.dimension, metric: m.metric) }) else {
            throw IndexError.notAnIndex(path: path, reason: "its \(m.encoding.rawValue) parameters do not match the dimension")
        }
        return (m, Matrix(rows: m.nlist, cols: m.dimension, values: values), encoding)
    }

    public var dimension: Int { metadata.dimension }

    /// The `k` best items for `query` (higher score is better: inner product, cosine, or the
    /// negated squared L2 distance). When the `nprobe` lists hold fewer than `k` candidates
    /// (allowed by the filters), more lists are probed until they do or every list is scanned.
    /// - Throws: `IndexError.dimensionMismatch`, `.nonFinite`, `.badParameter` for k or nprobe < 1.
    public func search(_ query: [Float], parameters: SearchParameters) throws -> [Neighbor] {
        let q = try prepare(query)
        let scores = centroidScores(q)
        return try lists.read { reader in try scan(q, centroidScores: scores, parameters: parameters, reader: reader).neighbors }
    }

    /// Searches many queries: centroid scores for all of them in one sgemm, then the scans spread
    /// over `threads` threads (each a contiguous range of queries on one snapshot).
    public func search(batch queries: Matrix, parameters: SearchParameters, threads: Int = 2) throws -> [[Neighbor]] {
        guard queries.cols == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: queries.cols, what: "the query batch") }
        var prepared = queries
        try VectorFile.checkFinite(prepared, source: "the query batch")
        metadata.metric.prepare(&prepared)
        var scores = BLAS.multiply(prepared, .none, centroids, .transposed)
        if let bias = metadata.metric.rankingBias(centroids) {
            // −‖q − c‖² = 2(q·c − ‖c‖²/2) − ‖q‖², the scores a single search computes.
            for r in 0..<scores.rows {
                let qq = prepared.row(r).reduce(Float(0)) { $0 + $1 * $1 }
                for c in 0..<scores.cols { scores[r, c] = 2 * (scores[r, c] - bias[c]) - qq }
            }
        }
        let parts = max(1, min(threads, queries.rows))
        let (ranked, centroidScores) = (prepared, scores)
        return try Parallel.map(parts: parts) { part in
            try self.lists.read { reader in
                try Parallel.range(part, of: parts, count: queries.rows).map { r in
                    try self.scan(Array(ranked.row(r)), centroidScores: Array(centroidScores.row(r)), parameters: parameters, reader: reader).neighbors
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

    /// Scores of a prepared query against every centroid, in list order.
    func centroidScores(_ q: [Float]) -> [Float] {
        var scores = [Float](repeating: 0, count: metadata.nlist)
        centroids.values.withUnsafeBufferPointer { c in
            scores.withUnsafeMutableBufferPointer { out in
                FullVectorScanner.score(q, c.baseAddress!, count: metadata.nlist, metric: metadata.metric, into: out.baseAddress!)
            }
        }
        return scores
    }

    /// The search itself, also saying how many lists it read (for tests of the widening).
    func scan(_ q: [Float], centroidScores: [Float], parameters p: SearchParameters,
              reader: any InvertedListsReader) throws -> (neighbors: [Neighbor], lists: Int) {
        guard p.k >= 1 else { throw IndexError.badParameter("k must be at least 1, not \(p.k)") }
        guard p.nprobe >= 1 else { throw IndexError.badParameter("nprobe must be at least 1, not \(p.nprobe)") }
        let nlist = metadata.nlist
        let probes = min(p.nprobe, nlist)
        // The nprobe best lists, best first.
        var order = [Int32](repeating: 0, count: probes)
        var orderScores = [Float](repeating: 0, count: probes)
        _ = tt_top_indices(centroidScores, nlist, probes, &order, &orderScores)
        let reranks = encoding.keepsFullVectors
        var pool = CandidatePool(keep: reranks ? p.k * max(p.rerankFactor, 1) : p.k, remembersVectors: reranks)
        var scanner = encoding.scanner(for: q, metric: metadata.metric)
        var scores = [Float](repeating: 0, count: metadata.chunkCapacity)
        var passing = [Int32](repeating: 0, count: metadata.chunkCapacity)
        let stride = 4 * dimension
        var current = -1
        func scan(_ chunk: ListChunk) {
            if chunk.list != current {
                current = chunk.list
                scanner.begin(list: current, centroidScore: centroidScores[current])
            }
            scores.withUnsafeMutableBufferPointer { out in
                passing.withUnsafeMutableBufferPointer { selected in
                    let scores = out.baseAddress!, above = selected.baseAddress!
                    scanner.scores(chunk.codes, count: chunk.count, into: scores)
                    var threshold = pool.threshold
                    let found = tt_select_at_least(scores, chunk.count, threshold, above)
                    for j in 0..<found {
                        let i = Int(above[j])
                        guard scores[i] >= threshold else { continue }
                        let id = chunk.id(i)
                        if p.filtered {
                            if p.exclude.contains(id) { continue }
                            if let allow = p.allow, !allow(id) { continue }
                        }
                        pool.push(scores[i], id, vector: chunk.vectors + stride * i)
                        threshold = pool.threshold
                    }
                }
            }
        }
        // The probed lists' chunks are located first and their first lines prefetched, so the
        // misses of reaching each list overlap instead of stalling each list's scan in turn.
        var chunks: [ListChunk] = []
        chunks.reserveCapacity(probes)
        for list in order {
            try reader.forEachChunk(of: Int(list)) { chunks.append($0); return true }
        }
        for chunk in chunks { tt_prefetch(chunk.codes, 512) }
        for chunk in chunks { scan(chunk) }
        var scanned = probes
        // The nprobe lists may hold fewer than k candidates (small lists, or filters that reject
        // many): widen the probe one list at a time, in centroid-score order, only until enough
        // are found, so k answers come back whenever k items exist.
        while scanned < nlist && !pool.isFull {
            if scanned == order.count {
                let probed = Set(order)
                order += (0..<Int32(nlist)).filter { !probed.contains($0) }.sorted { centroidScores[Int($0)] > centroidScores[Int($1)] }
            }
            try reader.forEachChunk(of: Int(order[scanned])) { scan($0); return true }
            scanned += 1
        }
        return (reranks ? pool.reranked(q, k: p.k, metric: metadata.metric) : pool.top.neighbors(), scanned)
    }

    // MARK: Reading back

    /// Every stored vector (full precision) with its id, in list order. For exact-search
    /// baselines, calibration and exports.
    public func allVectors() throws -> (vectors: Matrix, ids: [Int64]) {
        let d = dimension
        var values = [Float](), ids = [Int64]()
        values.reserveCapacity(metadata.count * d)
        ids.reserveCapacity(metadata.count)
        try lists.read { reader in
            try reader.forEachChunk { chunk in
                for i in 0..<chunk.count { ids.append(chunk.id(i)) }
                values += UnsafeRawBufferPointer(start: chunk.vectors, count: 4 * d * chunk.count).bindMemory(to: Float.self)
                return true
            }
        }
        return (Matrix(rows: ids.count, cols: d, values: values), ids)
    }

    /// The stored vector of `id` (full precision).
    /// - Throws: `IndexError.unknownID`.
    public func vector(id: Int64) throws -> [Float] {
        let d = dimension
        let found = try lists.read { reader -> [Float]? in
            guard let at = try reader.location(of: id) else { return nil }
            return try reader.withChunk(list: at.list, chunk: at.chunk) { chunk in
                guard at.slot < chunk.count else { return nil }
                return (0..<d).map { chunk.vectors.loadUnaligned(fromByteOffset: 4 * (at.slot * d + $0), as: Float.self) }
            } ?? nil
        }
        guard let found else { throw IndexError.unknownID(id) }
        return found
    }

    /// Vectors per list, in list order.
    public func listSizes() throws -> [Int] {
        var sizes = [Int](repeating: 0, count: metadata.nlist)
        try lists.read { reader in
            try reader.forEachChunk { chunk in
                if chunk.list < sizes.count { sizes[chunk.list] += chunk.count }
                return true
            }
        }
        return sizes
    }
}

/// The best candidates of one search. For encodings that re-rank it remembers where each
/// candidate's full-precision vector is (inside the snapshot being read), so the re-rank reads
/// them directly.
struct CandidatePool {
    var top: TopK
    let remembersVectors: Bool
    private var ids: [Int64] = []
    private var vectors: [UnsafeRawPointer] = []

    init(keep: Int, remembersVectors: Bool) {
        top = TopK(k: keep)
        self.remembersVectors = remembersVectors
    }

    var isFull: Bool { top.isFull }
    var threshold: Float { top.threshold }

    @inline(__always)
    mutating func push(_ score: Float, _ id: Int64, vector: UnsafeRawPointer) {
        guard remembersVectors else { top.push(score, id); return }
        top.push(score, Int64(ids.count))
        ids.append(id)
        vectors.append(vector)
    }

    /// The best k of the kept candidates by exact score (their vectors read in one gather).
    func reranked(_ q: [Float], k: Int, metric: Metric) -> [Neighbor] {
        let kept = top.entries
        var exact = TopK(k: k)
        if metric == .l2 {
            var score: Float = 0
            for candidate in kept {
                let slot = Int(candidate.id)
                FullVectorScanner.score(q, vectors[slot].assumingMemoryBound(to: Float.self), count: 1, metric: metric, into: &score)
                exact.push(score, ids[slot])
            }
            return exact.neighbors()
        }
        let pointers: [UnsafePointer<Float>?] = kept.map { vectors[Int($0.id)].assumingMemoryBound(to: Float.self) }
        var scores = [Float](repeating: 0, count: kept.count)
        tt_inner_products_gather(q, pointers, kept.count, q.count, &scores)
        for (candidate, score) in zip(kept, scores) { exact.push(score, ids[Int(candidate.id)]) }
        return exact.neighbors()
    }
}
