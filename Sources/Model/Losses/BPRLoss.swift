#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bayesian personalised ranking (Rendle et al. 2009) over the same candidates as the softmax:
/// for each (user, positive) row, the mean over its unmasked negatives j of
///
///     softplus((cos(u, j) − cos(u, i⁺)) / τ)
///
/// i.e. −log σ of the scaled score margin.
public struct BPRLoss: RetrievalLoss {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    public func rowGradient(_ scores: UnsafeMutablePointer<Float>, count: Int, positive: Int, logQ: UnsafePointer<Float>?,
                            scale: Float) -> (loss: Double, dInverseTemperature: Double) {
        var negatives = 0
        for c in 0..<count where c != positive && scores[c] != -.infinity { negatives += 1 }
        let share = 1 / Float(max(negatives, 1))
        let positiveScore = scores[positive]
        var loss = 0.0
        var positiveGradient: Float = 0
        for c in 0..<count where c != positive {
            let s = scores[c]
            guard s != -.infinity else { scores[c] = 0; continue }
            let margin = (s - positiveScore) / temperature
            // softplus and its derivative σ, computed stably on both sides of 0.
            loss += Double(margin > 0 ? margin + log1pf(expf(-margin)) : log1pf(expf(margin))) * Double(share)
            let sigma = margin > 0 ? 1 / (1 + expf(-margin)) : expf(margin) / (1 + expf(margin))
            let g = sigma / temperature * share * scale
            positiveGradient -= g
            scores[c] = g
        }
        scores[positive] = positiveGradient
        return (loss, 0)
    }
}
