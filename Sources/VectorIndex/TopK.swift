/// One search result: an item id and its score (higher is better).
public struct Neighbor: Equatable, Sendable, Codable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// The best `k` (score, id) pairs seen so far, as a bounded min-heap: the worst kept entry is at
/// the root, so a candidate is rejected with one comparison against `threshold`. Ties in score
/// prefer the smaller id, so results are deterministic.
struct TopK {
    let k: Int
    private(set) var scores: [Float] = []
    private(set) var ids: [Int64] = []

    init(k: Int) {
        self.k = k
        scores.reserveCapacity(k)
        ids.reserveCapacity(k)
    }

    var count: Int { scores.count }
    var isFull: Bool { scores.count >= k }

    /// The score a candidate must beat once the heap is full.
    var threshold: Float { isFull ? scores[0] : -.infinity }

    /// Whether (a, ia) ranks below (b, ib).
    @inline(__always) private static func worse(_ a: Float, _ ia: Int64, _ b: Float, _ ib: Int64) -> Bool {
        a < b || (a == b && ia > ib)
    }

    /// Offers a candidate; kept when it ranks among the best `k`.
    @inline(__always)
    mutating func push(_ score: Float, _ id: Int64) {
        guard k > 0 else { return }
        if scores.count < k {
            scores.append(score)
            ids.append(id)
            siftUp(scores.count - 1)
        } else if Self.worse(scores[0], ids[0], score, id) {
            scores[0] = score
            ids[0] = id
            siftDown(0)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.worse(scores[i], ids[i], scores[parent], ids[parent]) else { break }
            scores.swapAt(i, parent)
            ids.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = scores.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && Self.worse(scores[l], ids[l], scores[m], ids[m]) { m = l }
            if r < n && Self.worse(scores[r], ids[r], scores[m], ids[m]) { m = r }
            if m == i { return }
            scores.swapAt(i, m)
            ids.swapAt(i, m)
            i = m
        }
    }

    /// The kept entries, best first.
    func sorted() -> [Neighbor] {
        zip(ids, scores).map { Neighbor(id: $0, score: $1) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    }
}
