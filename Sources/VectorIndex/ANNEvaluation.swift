import Foundation
import LinearAlgebra

/// One point of the recall/QPS curve.
public struct ANNPoint: Codable, Sendable {
    public var nprobe: Int
    public var recallAt10: Double
    public var recallAt100: Double
    /// Single-thread queries per second, one query at a time, k = 10.
    public var qps: Double

    enum CodingKeys: String, CodingKey {
        case nprobe, qps
        case recallAt10 = "recall@10", recallAt100 = "recall@100"
    }
}

/// ANN recall against exact search over a sweep of nprobe, as `../shared/EVAL.md` and
/// `../shared/peers/ann_peer.py` measure it: recall@K = |ANN top-K ∩ exact top-K| / K averaged
/// over queries; QPS single-threaded, one query at a time with k = 10, the query set repeated
/// until at least `minSeconds` of work.
public enum ANNEvaluation {
    /// Exact top-100 for every query, from the vectors stored in the index.
    public static func groundTruth(index: IVFIndex, queries: Matrix, k: Int = 100) throws -> [[Int64]] {
        let (base, ids) = try index.allVectors()
        return groundTruth(base: base, ids: ids, queries: queries, k: k, metric: index.metadata.metric)
    }

    /// Exact top-k for every query over vectors already in memory.
    public static func groundTruth(base: Matrix, ids: [Int64], queries: Matrix, k: Int = 100, metric: Metric) -> [[Int64]] {
        ExactSearch.search(queries: queries, base: base, ids: ids, k: min(k, ids.count), metric: metric).map { $0.map(\.id) }
    }

    public static func recall(_ found: [[Int64]], _ truth: [[Int64]], k: Int) -> Double {
        guard !found.isEmpty else { return 0 }
        var total = 0.0
        for (f, t) in zip(found, truth) {
            // An index with fewer than k vectors has fewer than k true neighbours.
            let expected = Set(t.prefix(k))
            guard !expected.isEmpty else { continue }
            total += Double(f.prefix(k).filter { expected.contains($0) }.count) / Double(expected.count)
        }
        // Rounded past the summation's error, so that 95 hits in 100 compare equal to 0.95.
        return (total / Double(found.count) * 1e9).rounded() / 1e9
    }

    public static func sweep(index: IVFIndex, queries: Matrix, truth: [[Int64]], nprobes: [Int],
                             minSeconds: Double = 1, rerankFactor: Int = SearchParameters().rerankFactor,
                             progress: ((ANNPoint) -> Void)? = nil) throws -> [ANNPoint] {
        let rows = (0..<queries.rows).map { Array(queries.row($0)) }
        var points: [ANNPoint] = []
        for nprobe in nprobes {
            var wideParameters = SearchParameters(k: 100, nprobe: nprobe)
            wideParameters.rerankFactor = rerankFactor
            let wide = try rows.map { try index.search($0, parameters: wideParameters).map(\.id) }
            var parameters = SearchParameters(k: 10, nprobe: nprobe)
            parameters.rerankFactor = rerankFactor
            let found = try rows.map { try index.search($0, parameters: parameters).map(\.id) }  // also warms up
            var done = 0
            let start = Date()
            var elapsed = 0.0
            repeat {
                for q in rows { _ = try index.search(q, parameters: parameters) }
                done += rows.count
                elapsed = Date().timeIntervalSince(start)
            } while elapsed < minSeconds
            let point = ANNPoint(nprobe: nprobe, recallAt10: recall(found, truth, k: 10),
                                 recallAt100: recall(wide, truth, k: 100), qps: Double(done) / elapsed)
            progress?(point)
            points.append(point)
        }
        return points
    }
}
