import Randomness

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Draws extra negatives for a batch, uniformly over the catalogue or in proportion to item
/// popularity, and knows each item's probability of being drawn, for the logQ correction.
public struct NegativeSampler: Sendable {
    public enum Distribution: String, Sendable, Codable, CaseIterable {
        case uniform, popularity
    }

    public let distribution: Distribution
    let itemCount: Int
    let table: AliasTable?
    /// Probability of drawing each item in one draw.
    public let probabilities: [Double]

    /// `counts`: training interactions per item (for popularity sampling and the in-batch logQ).
    public init(distribution: Distribution, counts: [Int]) {
        self.distribution = distribution
        itemCount = counts.count
        switch distribution {
        case .uniform:
            table = nil
            probabilities = Array(repeating: 1 / Double(counts.count), count: counts.count)
        case .popularity:
            // Add one so unseen items can still be drawn.
            let weights = counts.map { Double($0) + 1 }
            let total = weights.reduce(0, +)
            table = AliasTable(weights: weights)
            probabilities = weights.map { $0 / total }
        }
    }

    public func sample(_ count: Int, using rng: inout SplitMix64) -> [Int32] {
        var out = [Int32](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { sample(into: $0, using: &rng) }
        return out
    }

    /// Draws `out.count` items into a reused buffer (the same draws as `sample`).
    public func sample(into out: UnsafeMutableBufferPointer<Int32>, using rng: inout SplitMix64) {
        for k in out.indices {
            if let table { out[k] = Int32(table.sample(using: &rng)) } else { out[k] = Int32(rng.next() % UInt64(itemCount)) }
        }
    }
}
