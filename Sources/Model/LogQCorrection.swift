#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the in-batch sampling probabilities of the logQ correction come from.
public enum LogQEstimate: String, Sendable, Codable, CaseIterable {
    /// Whole-data counts of each item's training interactions.
    case counts
    /// Yi et al.'s streaming estimate, updated as batches pass.
    case streaming
}

/// The sampling-bias correction of Yi et al. (RecSys 2019) for a batch's candidate columns:
/// `weight · log q(c)`, subtracted from each logit, where q(c) is how often item c is expected
/// among the candidates. With mixed negative sampling (Yang et al., WWW 2020) an item reaches
/// the candidates through the batch's positives or through the M extra draws, so
/// q(c) = B · p_batch(c) + M · p_extra(c) for every column, whichever way it got there.
/// p_batch comes from whole-data counts, or from Yi et al.'s streaming estimate as batches pass.
public struct LogQCorrection: Sendable {
    public let weight: Float
    private let extraRate: [Double]
    private let countLogQ: [Float]
    private var streaming: StreamingFrequencyEstimator?

    /// - Parameters:
    ///   - counts: training interactions per item; `examples` their total.
    ///   - extra: the extra negatives' sampler and how many it draws per batch.
    ///   - streaming: estimate p_batch online instead of from `counts`.
    public init(counts: [Int], examples: Int, batchSize: Int, extra sampler: NegativeSampler, extraCount: Int,
                streaming: Bool = false, weight: Float = 1) {
        self.weight = weight
        extraRate = sampler.probabilities.map { $0 * Double(extraCount) }
        let batchRate = counts.map { Double(max($0, 1)) * Double(batchSize) / Double(max(examples, 1)) }
        countLogQ = zip(batchRate, extraRate).map { Float(log($0 + $1)) * weight }
        self.streaming = streaming ? StreamingFrequencyEstimator(buckets: counts.count) : nil
    }

    /// The corrections for batch `step`'s columns: its positives `items`, then its `extra` draws.
    public mutating func values(items: [Int32], extra: [Int32], step: Int) -> [Float] {
        let columns = items + extra
        var out = [Float](repeating: 0, count: columns.count)
        columns.withUnsafeBufferPointer { c in out.withUnsafeMutableBufferPointer { fill(columns: c, positives: items.count, into: $0.baseAddress!, step: step) } }
        return out
    }

    /// The same into a reused buffer: `columns` are the batch's positives (the first `positives`
    /// of them), then its extra draws.
    public mutating func fill(columns: UnsafeBufferPointer<Int32>, positives: Int, into out: UnsafeMutablePointer<Float>, step: Int) {
        guard streaming != nil else {
            for (c, item) in columns.enumerated() { out[c] = countLogQ[Int(item)] }
            return
        }
        _ = streaming!.observe(Array(columns.prefix(positives)), step: step)
        for (c, item) in columns.enumerated() { out[c] = Float(log(max(streaming!.estimate(item), 1e-9) + extraRate[Int(item)])) * weight }
    }
}
