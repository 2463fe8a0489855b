/// The best `k` (score, id) pairs seen so far, as a bounded min-heap: the worst kept entry is at
/// the root, so a candidate is rejected with one comparison against `threshold`. Ties in score
/// prefer the smaller id, so results are deterministic.
@frozen
public struct TopK: Sendable {
    public let k: Int
    @usableFromInline var scores: [Float] = []
    @usableFromInline var ids: [Int64] = []

    @inlinable
    public init(k: Int) {
        self.k = k
        scores.reserveCapacity(k)
        ids.reserveCapacity(k)
    }

    @inlinable public var count: Int { scores.count }
    @inlinable public var isFull: Bool { scores.count >= k }

    /// The score a candidate must beat once the heap is full.
    @inlinable public var threshold: Float { isFull ? scores[0] : -.infinity }

    /// Whether (a, ia) ranks below (b, ib).
    @inlinable static func worse(_ a: Float, _ ia: Int64, _ b: Float, _ ib: Int64) -> Bool {
        a < b || (a == b && ia > ib)
    }

    /// Offers a candidate; kept when it ranks among the best `k`.
    @inlinable
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

    // Sifts move a hole instead of swapping, on the arrays' storage directly: the heap is hot
    // in every index scan.
    @inlinable mutating func siftUp(_ start: Int) {
        scores.withUnsafeMutableBufferPointer { sc in
            ids.withUnsafeMutableBufferPointer { id in
                let (s, i) = (sc[start], id[start])
                var hole = start
                while hole > 0 {
                    let parent = (hole - 1) / 2
                    guard Self.worse(s, i, sc[parent], id[parent]) else { break }
                    sc[hole] = sc[parent]
                    id[hole] = id[parent]
                    hole = parent
                }
                sc[hole] = s
                id[hole] = i
            }
        }
    }

    @inlinable mutating func siftDown(_ start: Int) {
        scores.withUnsafeMutableBufferPointer { sc in
            ids.withUnsafeMutableBufferPointer { id in
                let n = sc.count
                let (s, i) = (sc[start], id[start])
                var hole = start
                while true {
                    let l = 2 * hole + 1
                    if l >= n { break }
                    var m = l
                    let r = l + 1
                    if r < n && Self.worse(sc[r], id[r], sc[l], id[l]) { m = r }
                    guard Self.worse(sc[m], id[m], s, i) else { break }
                    sc[hole] = sc[m]
                    id[hole] = id[m]
                    hole = m
                }
                sc[hole] = s
                id[hole] = i
            }
        }
    }

    /// The kept entries in heap order (for re-scoring them all, where order does not matter).
    public var entries: [(id: Int64, score: Float)] { zip(ids, scores).map { (id: $0, score: $1) } }

    /// The kept entries, best first (ties: the smaller id first).
    public func sorted() -> [(id: Int64, score: Float)] {
        var entries = zip(ids, scores).map { (id: $0, score: $1) }
        entries.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return entries
    }
}
