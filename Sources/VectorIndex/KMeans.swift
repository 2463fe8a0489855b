import CKernels
import LinearAlgebra
import Randomness

/// Settings for `KMeans.train`, in the spirit of FAISS's `ClusteringParameters`.
public struct KMeansParameters: Sendable {
    /// Number of clusters (the index's nlist).
    public var k: Int
    /// Lloyd iterations.
    public var iterations = 10
    /// Train on a seeded sample of at most this many vectors; 0 uses `256 · k` (FAISS's default).
    public var trainSample = 0
    /// Cluster on the unit sphere: centroids are re-normalised and points join the centroid with
    /// the largest inner product (for inner-product and cosine indexes).
    public var spherical = false
    /// k-means++ seeding instead of k random points; O(n·k·d) sequential work, so for small k.
    public var plusPlus = false
    public var seed: UInt64 = 1
    /// Threads for the assignment step (the products themselves use BLAS's threads).
    public var threads = 2

    public init(k: Int) { self.k = k }
}

/// A trained clustering.
public struct KMeansResult: Sendable {
    /// k × d centroids.
    public var centroids: Matrix
    /// The objective after each iteration: the sum of squared distances to the nearest centroid
    /// (L2), or of inner products with the chosen centroid (spherical; higher is better).
    public var objective: [Double]
    /// How many empty clusters were re-seeded over the run.
    public var emptyClustersRepaired: Int
}

/// Lloyd's k-means with distances through BLAS, used to train the IVF coarse quantiser.
public enum KMeans {
    /// Clusters the rows of `x`.
    /// - Parameter progress: called after each iteration with its number (from 1) and objective.
    public static func train(_ x: Matrix, parameters p: KMeansParameters,
                             progress: ((Int, Double) -> Void)? = nil) throws -> KMeansResult {
        guard x.rows > 0 else { throw IndexError.emptyInput("the training set") }
        guard p.k >= 1, p.k <= x.rows else { throw IndexError.tooFewVectors(count: x.rows, nlist: p.k) }
        var rng = SplitMix64(seed: p.seed)
        let sampleSize = min(x.rows, p.trainSample > 0 ? p.trainSample : 256 * p.k)
        let data = sampleSize < x.rows ? sampleRows(x, count: sampleSize, rng: &rng) : x
        let d = x.cols
        var centroids = p.plusPlus ? plusPlusSeeds(data, k: p.k, rng: &rng) : sampleRows(data, count: p.k, rng: &rng)
        if p.spherical { normalizeRows(&centroids) }
        var objective: [Double] = []
        var repaired = 0
        for iteration in 1...max(p.iterations, 1) {
            let (assignment, value) = assign(data, to: centroids, spherical: p.spherical, threads: p.threads)
            objective.append(value)
            progress?(iteration, value)
            // Update: mean of each cluster's members, the sums taken in parallel over the rows.
            let parts = max(1, min(p.threads, data.rows / 4_096 + 1))
            let partial = Parallel.map(parts: parts) { part -> (sums: [Double], counts: [Int]) in
                var sums = [Double](repeating: 0, count: p.k * d)
                var counts = [Int](repeating: 0, count: p.k)
                data.values.withUnsafeBufferPointer { xs in
                    sums.withUnsafeMutableBufferPointer { acc in
                        for i in Parallel.range(part, of: parts, count: data.rows) {
                            let c = Int(assignment[i])
                            counts[c] += 1
                            let row = xs.baseAddress! + i * d, base = acc.baseAddress! + c * d
                            for j in 0..<d { base[j] += Double(row[j]) }
                        }
                    }
                }
                return (sums, counts)
            }
            var sums = partial[0].sums, counts = partial[0].counts
            for other in partial.dropFirst() {
                for i in sums.indices { sums[i] += other.sums[i] }
                for c in counts.indices { counts[c] += other.counts[c] }
            }
            for c in 0..<p.k where counts[c] > 0 {
                for j in 0..<d { centroids[c, j] = Float(sums[c * d + j] / Double(counts[c])) }
            }
            repaired += repairEmpty(&centroids, counts: &counts, rng: &rng)
            if p.spherical { normalizeRows(&centroids) }
        }
        return KMeansResult(centroids: centroids, objective: objective, emptyClustersRepaired: repaired)
    }

    /// The nearest centroid of every row of `x` (largest inner product when `spherical`), and the
    /// clustering objective. Rows go in blocks small enough for the cache; each worker thread takes
    /// whole blocks (a single-threaded sgemm, then the arg-best kernel), so the cores never wait
    /// on each other between the two steps.
    public static func assign(_ x: Matrix, to centroids: Matrix, spherical: Bool,
                              threads: Int = 2) -> (assignment: [Int32], objective: Double) {
        let k = centroids.rows, d = x.cols, n = x.rows
        // L2: argmin ||x - c||²  ⇔  argmax x·c − ||c||²/2 (the metric's ranking bias).
        let bias = (spherical ? Metric.innerProduct : Metric.l2).rankingBias(centroids) ?? []
        let block = 1_024
        let blocks = (n + block - 1) / block
        let workers = max(1, min(threads, blocks))
        let savedThreads = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = savedThreads }
        // Each worker takes whole blocks (a single-threaded sgemm, then the arg-best kernel) and
        // returns their assignments; the blocks are put back in order afterwards.
        let parts = Parallel.map(parts: workers) { worker -> (blocks: [(start: Int, best: [Int32])], total: Double) in
            var scores = Matrix(rows: block, cols: k)  // the first rows × k entries are used
            var best = [Float](repeating: 0, count: block)
            var done: [(start: Int, best: [Int32])] = []
            var total = 0.0
            var b = worker
            while b < blocks {
                let start = b * block, rows = min(block, n - start)
                x.values.withUnsafeBufferPointer { xs in
                    centroids.values.withUnsafeBufferPointer { cs in
                        scores.values.withUnsafeMutableBufferPointer { out in
                            BLAS.gemm(m: rows, n: k, k: d, xs.baseAddress! + start * d, lda: d, .none,
                                      cs.baseAddress!, ldb: d, .transposed, out.baseAddress!, ldc: k)
                        }
                    }
                }
                var index = [Int32](repeating: 0, count: rows)
                scores.values.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { bias in
                        index.withUnsafeMutableBufferPointer { idx in
                            best.withUnsafeMutableBufferPointer { val in
                                tt_argmax_rows(s.baseAddress!, rows, k, spherical ? nil : bias.baseAddress,
                                               UnsafeMutableRawPointer(idx.baseAddress!).assumingMemoryBound(to: CInt.self), val.baseAddress!)
                            }
                        }
                    }
                }
                for r in 0..<rows { total += Double(best[r]) }
                done.append((start, index))
                b += workers
            }
            return (done, total)
        }
        var assignment = [Int32](repeating: 0, count: n)
        var objective = 0.0
        for part in parts {
            objective += part.total
            for (start, best) in part.blocks { assignment.replaceSubrange(start..<(start + best.count), with: best) }
        }
        if !spherical {
            // Turn Σ(x·c - ||c||²/2) into Σ||x - c||² = Σ||x||² - 2Σ(x·c - ||c||²/2).
            var norms = 0.0
            for v in x.values { norms += Double(v) * Double(v) }
            objective = norms - 2 * objective
        }
        return (assignment, objective)
    }

    /// Re-seeds each empty cluster by splitting the largest one (FAISS's rule: the two copies are
    /// pushed apart by a small symmetric perturbation and share its members' count).
    private static func repairEmpty(_ centroids: inout Matrix, counts: inout [Int], rng: inout SplitMix64) -> Int {
        var repaired = 0
        let eps: Float = 1 / 1024
        for c in 0..<counts.count where counts[c] == 0 {
            // Pick a cluster to split with probability proportional to its size above one.
            let weights = counts.map { Double(max($0 - 1, 0)) }
            let total = weights.reduce(0, +)
            guard total > 0 else { break }
            var r = rng.nextUnit() * total
            var big = 0
            for (i, w) in weights.enumerated() {
                r -= w
                if r <= 0 && w > 0 { big = i; break }
            }
            for j in 0..<centroids.cols {
                let v = centroids[big, j]
                centroids[c, j] = j % 2 == 0 ? v * (1 + eps) : v * (1 - eps)
                centroids[big, j] = j % 2 == 0 ? v * (1 - eps) : v * (1 + eps)
            }
            counts[c] = counts[big] / 2
            counts[big] -= counts[c]
            repaired += 1
        }
        return repaired
    }

    /// `count` distinct rows chosen with a seeded partial shuffle.
    static func sampleRows(_ x: Matrix, count: Int, rng: inout SplitMix64) -> Matrix {
        rows(sampleRowNumbers(x.rows, count: count, rng: &rng), of: x)
    }

    /// `count` distinct numbers below `n`, by a seeded partial shuffle.
    static func sampleRowNumbers(_ n: Int, count: Int, rng: inout SplitMix64) -> [Int] {
        var order = Array(0..<n)
        for i in 0..<count {
            let j = i + Int(rng.next() % UInt64(n - i))
            order.swapAt(i, j)
        }
        return Array(order.prefix(count))
    }

    /// The given rows of `x`, in that order.
    static func rows(_ numbers: [Int], of x: Matrix) -> Matrix {
        var values = [Float]()
        values.reserveCapacity(numbers.count * x.cols)
        for i in numbers { values += x.row(i) }
        return Matrix(rows: numbers.count, cols: x.cols, values: values)
    }

    /// k-means++ seeding: each next seed drawn with probability proportional to its squared
    /// distance from the nearest seed so far.
    static func plusPlusSeeds(_ x: Matrix, k: Int, rng: inout SplitMix64) -> Matrix {
        let d = x.cols
        var chosen = [Int(rng.next() % UInt64(x.rows))]
        var nearest = [Double](repeating: .infinity, count: x.rows)
        while chosen.count < k {
            let last = chosen[chosen.count - 1]
            var total = 0.0
            for i in 0..<x.rows {
                var s: Float = 0
                for j in 0..<d { let e = x[i, j] - x[last, j]; s += e * e }
                nearest[i] = min(nearest[i], Double(s))
                total += nearest[i]
            }
            var r = rng.nextUnit() * total
            var pick = x.rows - 1
            for i in 0..<x.rows {
                r -= nearest[i]
                if r <= 0 { pick = i; break }
            }
            chosen.append(pick)
        }
        var values = [Float]()
        for i in chosen { values += x.row(i) }
        return Matrix(rows: k, cols: d, values: values)
    }

    /// Scales every row to unit length (rows of zeros are left as they are).
    public static func normalizeRows(_ m: inout Matrix) {
        let d = m.cols
        m.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<m.rows {
                var s: Float = 0
                for j in 0..<d { s += v[r * d + j] * v[r * d + j] }
                guard s > 0 else { continue }
                let inv = 1 / s.squareRoot()
                for j in 0..<d { v[r * d + j] *= inv }
            }
        }
    }
}
