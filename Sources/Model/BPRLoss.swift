#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra

/// Bayesian personalised ranking (Rendle et al. 2009) over the same candidates as the softmax:
/// for each (user, positive) row, the mean over its unmasked negatives j of
///
///     softplus((cos(u, j) − cos(u, i⁺)) / τ)
///
/// i.e. −log σ of the scaled score margin. Masking as in `SampledSoftmaxLoss`.
public struct BPRLoss: Sendable {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32],
                                 extra: SampledSoftmaxLoss.ExtraNegatives?, maskedColumns: [[Int]]? = nil)
        -> (loss: Float, dUsers: Matrix, dItems: Matrix, dExtra: Matrix) {
        var scores = CandidateScores(users: u, items: v, itemIDs: itemIDs, extra: extra)
        let b = scores.batch, columns = scores.columns
        var loss = 0.0
        var negative = [Bool](repeating: true, count: columns)
        for r in 0..<b {
            let count = scores.negatives(r, masked: maskedColumns?[r], into: &negative)
            let positive = scores.score(r, r)
            var positiveGradient: Float = 0
            for c in 0..<columns where c != r {
                var g: Float = 0
                if negative[c] {
                    let margin = (scores.score(r, c) - positive) / temperature
                    // softplus and its derivative σ, computed stably on both sides of 0.
                    loss += Double(margin > 0 ? margin + log1pf(expf(-margin)) : log1pf(expf(margin))) / Double(count)
                    let sigma = margin > 0 ? 1 / (1 + expf(-margin)) : expf(margin) / (1 + expf(margin))
                    g = sigma / temperature / count / Float(b)
                    positiveGradient -= g
                }
                scores.setGradient(r, c, g)
            }
            scores.setGradient(r, r, positiveGradient)
        }
        let (dU, dV, dE) = scores.backward()
        return (Float(loss / Double(b)), dU, dV, dE)
    }
}
