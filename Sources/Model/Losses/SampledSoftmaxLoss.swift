import CKernels

/// Sampled softmax (InfoNCE) with temperature τ over in-batch negatives and, optionally, extra
/// negatives shared by the whole batch (mixed negative sampling, Yang et al. 2020). For user row
/// b over its candidates c:
///
///     logit_bc = s_bc / τ − log q_c,     L = −(1/B) Σ_b log softmax(logit_b)[b]
///
/// where s_bc is the cosine of user and candidate and `log q_c` the optional logQ correction
/// (Yi et al. 2019): the log of how likely item c was to be drawn as a candidate, so popular
/// items are not over-penalised as negatives. The row kernel is vectorised C (`tt_softmax_xent_row`).
public struct SampledSoftmaxLoss: RetrievalLoss {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    public func rowGradient(_ scores: UnsafeMutablePointer<Float>, count: Int, positive: Int, logQ: UnsafePointer<Float>?,
                            scale: Float) -> (loss: Double, dInverseTemperature: Double) {
        var loss = 0.0, dInverse = 0.0
        tt_softmax_xent_row(scores, count, positive, 1 / temperature, logQ, scale, &loss, &dInverse)
        return (loss, dInverse)
    }
}
