/// Yi et al.'s (RecSys 2019) streaming estimate of how often each item appears in a batch,
/// for logQ correction without counting the whole data set first: per item, the step it was
/// last seen and a moving average of the gap between sightings; the estimate is 1 / gap.
public struct StreamingFrequencyEstimator: Sendable {
    /// Weight of a new gap in the moving average.
    public var alpha: Double
    private var lastSeen: [Int]
    private var gap: [Double]

    public init(buckets: Int, alpha: Double = 0.01) {
        self.alpha = alpha
        lastSeen = [Int](repeating: 0, count: buckets)
        gap = [Double](repeating: 0, count: buckets)
    }

    /// Records the items of batch `step` (from 1) and returns each one's estimated probability
    /// of appearing in a batch, after the update.
    public mutating func observe(_ items: [Int32], step: Int) -> [Double] {
        for item in Set(items) {
            let h = Int(item) % gap.count
            let observed = Double(step - lastSeen[h])
            gap[h] = lastSeen[h] == 0 ? observed : (1 - alpha) * gap[h] + alpha * observed
            lastSeen[h] = step
        }
        return items.map(estimate)
    }

    /// The current estimate for `item` without recording a sighting (0 before its first).
    public func estimate(_ item: Int32) -> Double {
        let h = Int(item) % gap.count
        return lastSeen[h] == 0 ? 0 : min(1, 1 / max(gap[h], 1))
    }
}
