/// The best `k` (score, id) pairs seen so far, as a bounded min-heap: the worst kept entry is at
/// the root, so a candidate is rejected with one comparison against `threshold`. Ties in score
/// prefer the smaller id, so results are deterministic.
public struct TopK: Sendable {
    public let k: Int
    private var scores: [Float] = []
    private var ids: [Int64] = []

    public init(k: Int) {
        self.k = k
        scores.reserveCapacity(k)
        ids.reserveCapacity(k)
    }

    public var count: Int { scores.count }
    @inline(__always) public var isFull: Bool { scores.count >= k }

    /// The score a candidate must beat once the heap is full.
    @inline(__always) public var threshold: Float { isFull ? scores[0] : -.infinity }

    /// Whether (a, ia) ranks below (b, ib).
    @inline(__always) private static func worse(_ a: Float, _ ia: Int64, _ b: Float, _ ib: Int64) -> Bool {
        a < b || (a == b && ia > ib)
    }

    /// Offers a candidate; kept when it ranks among the best `k`.
    @inline(__always)
    public mutating func push(_ score: Float, _ id: Int64) {
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

    /// The kept entries, best first (ties: the smaller id first).
    public func sorted() -> [(id: Int64, score: Float)] {
        zip(ids, scores).map { (id: $0, score: $1) }.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    }
}
