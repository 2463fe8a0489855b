import Foundation
import LinearAlgebra

/// Brute-force top-k by the same scores as the index, for ground truth in evaluations.
/// Scores come from sgemm over blocks of queries × blocks of the base.
public enum ExactSearch {
    public static func search(queries: Matrix, base: Matrix, ids: [Int64], k: Int, metric: Metric) -> [[Neighbor]] {
        precondition(queries.cols == base.cols && ids.count == base.rows)
        var q = queries, b = base
        metric.prepare(&q)
        metric.prepare(&b)
        let bias = metric.rankingBias(b)
        let queryNorms = metric == .l2 ? (0..<q.rows).map { r in q.row(r).reduce(0) { $0 + $1 * $1 } } : []
        var tops = (0..<q.rows).map { _ in TopK(k: k) }
        let queryBlock = 256, baseBlock = 16_384
        var qs = 0
        while qs < q.rows {
            let qn = min(queryBlock, q.rows - qs)
            let qm = Matrix(rows: qn, cols: q.cols, values: Array(q.values[(qs * q.cols)..<((qs + qn) * q.cols)]))
            var bs = 0
            while bs < b.rows {
                let bn = min(baseBlock, b.rows - bs)
                let bm = Matrix(rows: bn, cols: b.cols, values: Array(b.values[(bs * b.cols)..<((bs + bn) * b.cols)]))
                let s = BLAS.multiply(qm, .none, bm, .transposed)
                for i in 0..<qn {
                    for j in 0..<bn {
                        // L2: −‖q − b‖² = 2(q·b − ‖b‖²/2) − ‖q‖², the index's score.
                        let v = bias.map { 2 * (s[i, j] - $0[bs + j]) - queryNorms[qs + i] } ?? s[i, j]
                        if v >= tops[qs + i].threshold { tops[qs + i].push(v, ids[bs + j]) }
                    }
                }
                bs += bn
            }
            qs += qn
        }
        return tops.map { $0.neighbors() }
    }

    /// Single-thread exact search speed over `base`, one query at a time (at most 50 of them).
    public static func queriesPerSecond(base: Matrix, ids: [Int64], metric: Metric, queries: Matrix) -> Double {
        let n = min(queries.rows, 50)
        guard n > 0 else { return 0 }
        let saved = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = saved }
        let started = Date()
        for r in 0..<n {
            _ = search(queries: Matrix(rows: 1, cols: queries.cols, values: Array(queries.row(r))), base: base, ids: ids, k: 10, metric: metric)
        }
        return Double(n) / max(Date().timeIntervalSince(started), 1e-9)
    }
}
