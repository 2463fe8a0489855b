/// SimpleX's cosine contrastive loss (Mao et al., CIKM 2021). With normalised embeddings the
/// scores are cosines; for each (user, positive) row over its unmasked negatives N_r:
///
///     L_r = (1 − cos(u, i⁺)) + (w / |N_r|) Σ_{j ∈ N_r} max(0, cos(u, j) − m)
///
/// so the positive is pulled to cosine 1 and only negatives above the margin m are pushed down,
/// weighted by w.
public struct CosineContrastiveLoss: RetrievalLoss {
    public var margin: Float
    public var negativeWeight: Float

    public init(margin: Float, negativeWeight: Float) {
        self.margin = margin
        self.negativeWeight = negativeWeight
    }

    public func rowGradient(_ scores: UnsafeMutablePointer<Float>, count: Int, positive: Int, logQ: UnsafePointer<Float>?,
                            scale: Float) -> (loss: Double, dInverseTemperature: Double) {
        var negatives = 0
        for c in 0..<count where c != positive && scores[c] != -.infinity { negatives += 1 }
        let weight = negativeWeight / Float(max(negatives, 1))
        var loss = Double(1 - scores[positive])
        for c in 0..<count {
            let s = scores[c]
            var g: Float = 0
            if c == positive {
                g = -scale
            } else if s != -.infinity && s > margin {
                loss += Double(weight * (s - margin))
                g = weight * scale
            }
            scores[c] = g
        }
        return (loss, 0)
    }
}
