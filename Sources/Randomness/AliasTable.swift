/// Draws indices in O(1) from a fixed discrete distribution (Walker's alias method).
///
/// Used wherever items are drawn by weight many times: popularity-skewed synthetic interactions,
/// popularity negatives in training.
public struct AliasTable: Sendable {
    private let probability: [Double]
    private let alias: [Int32]

    /// Number of outcomes.
    public var count: Int { probability.count }

    /// Builds the table from non-negative weights (not all zero).
    public init(weights: [Double]) {
        precondition(!weights.isEmpty, "AliasTable needs at least one weight")
        let n = weights.count
        let total = weights.reduce(0, +)
        precondition(total > 0 && weights.allSatisfy { $0 >= 0 && $0.isFinite }, "AliasTable weights must be finite, non-negative, not all zero")
        var scaled = weights.map { $0 * Double(n) / total }
        var probability = [Double](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        for (i, p) in scaled.enumerated() { if p < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast(), let l = large.last {
            probability[s] = scaled[s]
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        for i in large { probability[i] = 1 }
        for i in small { probability[i] = 1 }
        for i in 0..<n where probability[i] == 1 { alias[i] = Int32(i) }
        self.probability = probability
        self.alias = alias
    }

    /// One draw.
    public func sample(using rng: inout some RandomNumberGenerator) -> Int {
        let i = Int(rng.next() % UInt64(probability.count))
        return rng.nextUnit() < probability[i] ? i : Int(alias[i])
    }
}
