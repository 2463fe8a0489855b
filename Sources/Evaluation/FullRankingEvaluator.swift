import Dispatch
import Foundation
import LinearAlgebra

/// Exact full-ranking evaluation (`../shared/EVAL.md`): every item scored for every user with a
/// held-out item, the user's training items removed, the top K kept with a partial selection.
/// Users are processed in blocks (one scoring call each) spread over `threads` threads.
public enum FullRankingEvaluator {
    public static func evaluate(_ scorer: some Scorer, data: EvaluationData, ks: [Int] = [10, 20, 50],
                                threads: Int = 2, blockSize: Int = 256) -> RankingMetrics {
        let users = data.evaluatedUsers
        let kmax = ks.max() ?? 20
        let blocks = stride(from: 0, to: users.count, by: blockSize).map { Array(users[$0..<min($0 + blockSize, users.count)]) }
        let workers = max(1, min(threads, blocks.count))
        let results = SumSlots(count: workers, ks: ks)
        let savedThreads = BLAS.threads
        if workers > 1 { BLAS.threads = 1 }
        defer { BLAS.threads = savedThreads }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var sums = MetricSums(ks: ks)
            var scores = Matrix(rows: blockSize, cols: scorer.itemCount)
            var b = worker
            while b < blocks.count {
                let block = blocks[b]
                if scores.rows != block.count { scores = Matrix(rows: block.count, cols: scorer.itemCount) }
                scorer.scores(users: block, into: &scores)
                for (r, u) in block.enumerated() {
                    let ranked = topK(scores, row: r, k: kmax, masked: data.masked[u])
                    sums.add(ranked: ranked, relevant: Set(data.heldOut[u]))
                }
                b += workers
            }
            results.set(worker, sums)
        }
        return results.merged.metrics
    }

    /// The same metrics from a ranking function instead of full scores: `ranked(user)` returns the
    /// user's top items, best first, with the masked items already left out (for example a search
    /// through the ANN index that excludes the user's training items). Users spread over threads.
    public static func evaluate(data: EvaluationData, ks: [Int] = [10, 20, 50], threads: Int = 2,
                                ranked: @escaping @Sendable (Int) throws -> [Int32]) throws -> RankingMetrics {
        let users = data.evaluatedUsers
        let workers = max(1, min(threads, users.count))
        let results = SumSlots(count: workers, ks: ks)
        let failure = ErrorSlot()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var sums = MetricSums(ks: ks)
            for index in stride(from: worker, to: users.count, by: workers) {
                let u = users[index]
                do {
                    sums.add(ranked: try ranked(u), relevant: Set(data.heldOut[u]))
                } catch {
                    failure.set(error)
                    return
                }
            }
            results.set(worker, sums)
        }
        if let error = failure.error { throw error }
        return results.merged.metrics
    }

    /// The k best items of one row of scores, best first, skipping masked items; ties go to the
    /// smaller item id.
    static func topK(_ scores: Matrix, row: Int, k: Int, masked: [Int32]) -> [Int32] {
        let n = scores.cols
        let skip = Set(masked)
        var heapScores = [Float](), heapItems = [Int32]()
        heapScores.reserveCapacity(k)
        heapItems.reserveCapacity(k)
        // A bounded min-heap on (score, -item): the root is the worst kept entry.
        func worse(_ a: Int, _ b: Int) -> Bool {
            heapScores[a] < heapScores[b] || (heapScores[a] == heapScores[b] && heapItems[a] > heapItems[b])
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heapScores.count && worse(l, m) { m = l }
                if r < heapScores.count && worse(r, m) { m = r }
                if m == i { return }
                heapScores.swapAt(i, m); heapItems.swapAt(i, m)
                i = m
            }
        }
        scores.values.withUnsafeBufferPointer { s in
            let base = row * n
            for item in 0..<n {
                let v = s[base + item]
                if heapScores.count == k && v < heapScores[0] { continue }
                if skip.contains(Int32(item)) { continue }
                if heapScores.count < k {
                    heapScores.append(v); heapItems.append(Int32(item))
                    var i = heapScores.count - 1
                    while i > 0 {
                        let p = (i - 1) / 2
                        guard worse(i, p) else { break }
                        heapScores.swapAt(i, p); heapItems.swapAt(i, p)
                        i = p
                    }
                } else if v > heapScores[0] || (v == heapScores[0] && Int32(item) < heapItems[0]) {
                    heapScores[0] = v; heapItems[0] = Int32(item)
                    siftDown(0)
                }
            }
        }
        return zip(heapScores, heapItems).sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.map(\.1)
    }
}

/// Per-worker sums, merged in worker order so results do not depend on scheduling.
final class SumSlots: @unchecked Sendable {
    private var slots: [MetricSums]
    private let lock = NSLock()

    init(count: Int, ks: [Int]) { slots = Array(repeating: MetricSums(ks: ks), count: count) }

    func set(_ i: Int, _ s: MetricSums) {
        lock.lock()
        slots[i] = s
        lock.unlock()
    }

    var merged: MetricSums {
        var total = MetricSums(ks: slots[0].ks)
        for s in slots { total.merge(s) }
        return total
    }
}

/// The first error of parallel workers.
final class ErrorSlot: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?

    func set(_ e: Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }
}
