import Dispatch
import Foundation
import LinearAlgebra

/// Exact full-ranking evaluation (`../shared/EVAL.md`): every item scored for every user with a
/// held-out item, the user's training items removed, the top K kept with a partial selection.
/// Users are processed in blocks (one scoring call each) spread over `threads` threads.
public enum FullRankingEvaluator {
    public static func evaluate(_ scorer: some Scorer, data: EvaluationData, ks: [Int] = [10, 20, 50],
                                threads: Int = ProcessInfo.processInfo.activeProcessorCount, blockSize: Int = 256) -> RankingMetrics {
        let users = data.evaluatedUsers
        let kmax = ks.max() ?? 20
        let blocks = stride(from: 0, to: users.count, by: blockSize).map { Array(users[$0..<min($0 + blockSize, users.count)]) }
        let workers = max(1, min(threads, blocks.count))
        let savedThreads = BLAS.threads
        if workers > 1 { BLAS.threads = 1 }
        defer { BLAS.threads = savedThreads }
        let sums = Parallel.map(parts: workers) { worker -> MetricSums in
            var sums = MetricSums(ks: ks)
            var scores = Matrix(rows: blockSize, cols: scorer.itemCount)
            var b = worker
            while b < blocks.count {
                let block = blocks[b]
                if scores.rows != block.count { scores = Matrix(rows: block.count, cols: scorer.itemCount) }
                scorer.scores(users: block, into: &scores)
                for (r, u) in block.enumerated() {
                    sums.add(ranked: topK(scores, row: r, k: kmax, masked: data.masked[u]), relevant: Set(data.heldOut[u]))
                }
                b += workers
            }
            return sums
        }
        return merged(sums, ks: ks)
    }

    /// The same metrics from a ranking function instead of full scores: `ranked(user)` returns the
    /// user's top items, best first, with the masked items already left out (for example a search
    /// through the ANN index that excludes the user's training items). Users spread over threads.
    public static func evaluate(data: EvaluationData, ks: [Int] = [10, 20, 50], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                                ranked: @escaping @Sendable (Int) throws -> [Int32]) throws -> RankingMetrics {
        let users = data.evaluatedUsers
        let workers = max(1, min(threads, users.count))
        let sums = try Parallel.map(parts: workers) { worker -> MetricSums in
            var sums = MetricSums(ks: ks)
            for index in stride(from: worker, to: users.count, by: workers) {
                let u = users[index]
                sums.add(ranked: try ranked(u), relevant: Set(data.heldOut[u]))
            }
            return sums
        }
        return merged(sums, ks: ks)
    }

    /// Per-worker sums merged in worker order, so results do not depend on scheduling.
    private static func merged(_ parts: [MetricSums], ks: [Int]) -> RankingMetrics {
        var total = MetricSums(ks: ks)
        for part in parts { total.merge(part) }
        return total.metrics
    }

    /// The k best items of one row of scores, best first, skipping masked items; ties go to the
    /// smaller item id.
    static func topK(_ scores: Matrix, row: Int, k: Int, masked: [Int32]) -> [Int32] {
        let n = scores.cols
        let skip = Set(masked)
        var top = TopK(k: k)
        scores.values.withUnsafeBufferPointer { s in
            let base = row * n
            var threshold = top.threshold
            for item in 0..<n {
                let v = s[base + item]
                // Most scores lose to the k-th best so far: one comparison, no set lookup.
                if v >= threshold && !skip.contains(Int32(item)) {
                    top.push(v, Int64(item))
                    threshold = top.threshold
                }
            }
        }
        return top.sorted().map { Int32($0.id) }
    }
}
