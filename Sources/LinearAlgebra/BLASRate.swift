import Foundation

extension BLAS {
    /// What sgemm reaches on this machine for the training step's three products at one shape
    /// (B rows, C candidates, dimension d), split over `threads` threads the way the step splits
    /// them (row ranges for the scores and the user gradient, column ranges for the candidate
    /// gradient), each thread running single-threaded BLAS: GFLOP/s of the three together.
    /// The yardstick the training benchmark prints beside the step's achieved rate.
    public static func stepProductsRate(rows b: Int, columns c: Int, dimension d: Int, threads: Int, seconds: Double = 2) -> Double {
        let users = Buffer<Float>(count: b * d, repeating: 0.01), items = Buffer<Float>(count: c * d, repeating: 0.02)
        let scores = Buffer<Float>(count: b * c, repeating: 0), dUsers = Buffer<Float>(count: b * d, repeating: 0)
        let dItems = Buffer<Float>(count: c * d, repeating: 0)
        let saved = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = saved }
        func once() {
            _ = Parallel.map(parts: threads) { t in
                let rows = Parallel.range(t, of: threads, count: b)
                gemm(m: rows.count, n: c, k: d, users.pointer + rows.lowerBound * d, lda: d, .none, items.pointer, ldb: d, .transposed,
                     scores.pointer + rows.lowerBound * c, ldc: c)
                gemm(m: rows.count, n: d, k: c, scores.pointer + rows.lowerBound * c, lda: c, .none, items.pointer, ldb: d, .none,
                     dUsers.pointer + rows.lowerBound * d, ldc: d)
            }
            _ = Parallel.map(parts: threads) { t in
                let cols = Parallel.range(t, of: threads, count: c)
                gemm(m: cols.count, n: d, k: b, scores.pointer + cols.lowerBound, lda: c, .transposed, users.pointer, ldb: d, .none,
                     dItems.pointer + cols.lowerBound * d, ldc: d)
            }
        }
        once()
        var runs = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            once()
            runs += 1
        }
        return 6 * Double(b) * Double(c) * Double(d) * Double(runs) / Date().timeIntervalSince(start) / 1e9
    }
}
