import CKernels
import Foundation
import LinearAlgebra

/// Brute-force top-k by the same scores as the index: for ground truth in evaluations, and as
/// the yardstick an index is measured against.
public enum ExactSearch {
    /// Top-k of every query: scores from sgemm over blocks of queries × blocks of the base (read
    /// in place), threshold-filtered into one heap per query, the query blocks spread over the
    /// cores.
    public static func search(queries: Matrix, base: Matrix, ids: [Int64], k: Int, metric: Metric,
                              threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [[Neighbor]] {
        precondition(queries.cols == base.cols && ids.count == base.rows)
        var q = queries, b = base
        metric.prepare(&q)
        metric.prepare(&b)
        let d = q.cols
        let bias = metric.rankingBias(b)
        let queryNorms = metric == .l2 ? (0..<q.rows).map { r in q.row(r).reduce(0) { $0 + $1 * $1 } } : []
        let queryBlock = 64, baseBlock = 8_192
        let blocks = (q.rows + queryBlock - 1) / queryBlock
        let workers = max(1, min(threads, blocks))
        let savedThreads = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = savedThreads }
        let (qv, bv) = (q, b)
        let parts = Parallel.map(parts: workers) { worker -> [(Int, [[Neighbor]])] in
            var out: [(Int, [[Neighbor]])] = []
            var s = [Float](repeating: 0, count: queryBlock * baseBlock)
            var block = worker
            while block < blocks {
                let qs = block * queryBlock, qn = min(queryBlock, qv.rows - qs)
                var tops = (0..<qn).map { _ in TopK(k: k) }
                var bs = 0
                while bs < bv.rows {
                    let bn = min(baseBlock, bv.rows - bs)
                    qv.values.withUnsafeBufferPointer { qp in
                        bv.values.withUnsafeBufferPointer { bp in
                            s.withUnsafeMutableBufferPointer { sp in
                                BLAS.gemm(m: qn, n: bn, k: d, qp.baseAddress! + qs * d, lda: d, .none,
                                          bp.baseAddress! + bs * d, ldb: d, .transposed, sp.baseAddress!, ldc: bn)
                            }
                        }
                    }
                    s.withUnsafeBufferPointer { sp in
                        for i in 0..<qn {
                            let row = sp.baseAddress! + i * bn
                            var threshold = tops[i].threshold
                            for j in 0..<bn {
                                // L2: −‖q − b‖² = 2(q·b − ‖b‖²/2) − ‖q‖², the index's score.
                                let v = bias.map { 2 * (row[j] - $0[bs + j]) - queryNorms[qs + i] } ?? row[j]
                                if v >= threshold {
                                    tops[i].push(v, ids[bs + j])
                                    threshold = tops[i].threshold
                                }
                            }
                        }
                    }
                    bs += bn
                }
                out.append((qs, tops.map { $0.neighbors() }))
                block += workers
            }
            return out
        }
        var results = [[Neighbor]](repeating: [], count: q.rows)
        for part in parts { for (start, tops) in part { for (i, t) in tops.enumerated() { results[start + i] = t } } }
        return results
    }

    /// Single-thread exact search speed, one query at a time, k = 10: the same scan an exact
    /// (single-list) index runs, over `base` prepared for the metric. Repeats the queries until
    /// `minSeconds` of work.
    public static func queriesPerSecond(base: Matrix, ids: [Int64], metric: Metric, queries: Matrix, minSeconds: Double = 0.3) -> Double {
        guard queries.rows > 0, base.rows > 0 else { return 0 }
        var b = base, q = queries
        metric.prepare(&b)
        metric.prepare(&q)
        let chunk = 1_024
        var scores = [Float](repeating: 0, count: chunk)
        var passing = [Int32](repeating: 0, count: chunk)
        var done = 0
        let started = Date()
        var elapsed = 0.0
        repeat {
            let query = Array(q.row(done % q.rows))
            var top = TopK(k: 10)
            b.values.withUnsafeBufferPointer { bp in
                scores.withUnsafeMutableBufferPointer { out in
                    passing.withUnsafeMutableBufferPointer { above in
                        var start = 0
                        while start < b.rows {
                            let count = min(chunk, b.rows - start)
                            FullVectorScanner.score(query, bp.baseAddress! + start * b.cols, count: count, metric: metric, into: out.baseAddress!)
                            var threshold = top.threshold
                            let found = tt_select_at_least(out.baseAddress!, count, threshold, above.baseAddress!)
                            for j in 0..<found {
                                let i = Int(above[j])
                                guard out[i] >= threshold else { continue }
                                top.push(out[i], ids[start + i])
                                threshold = top.threshold
                            }
                            start += count
                        }
                    }
                }
            }
            done += 1
            elapsed = Date().timeIntervalSince(started)
        } while elapsed < minSeconds
        return Double(done) / elapsed
    }
}
