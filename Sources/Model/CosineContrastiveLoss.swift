import LinearAlgebra

/// SimpleX's cosine contrastive loss (Mao et al., CIKM 2021). With normalised embeddings the
/// scores are cosines; for each (user, positive) row over the batch's other items and the extra
/// negatives:
///
///     L_r = (1 − cos(u, i⁺)) + (w / |N_r|) Σ_{j ∈ N_r} max(0, cos(u, j) − m)
///
/// so the positive is pulled to cosine 1 and only negatives above the margin m are pushed down,
/// weighted by w. Masking is as in `SampledSoftmaxLoss` (duplicates of the row's item and the
/// columns in `maskedColumns[row]` are not negatives).
public struct CosineContrastiveLoss: Sendable {
    public var margin: Float
    public var negativeWeight: Float

    public init(margin: Float, negativeWeight: Float) {
        self.margin = margin
        self.negativeWeight = negativeWeight
    }

    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32],
                                 extra: SampledSoftmaxLoss.ExtraNegatives?, maskedColumns: [[Int]]? = nil)
        -> (loss: Float, dUsers: Matrix, dItems: Matrix, dExtra: Matrix) {
        var scores = CandidateScores(users: u, items: v, itemIDs: itemIDs, extra: extra)
        let b = scores.batch, columns = scores.columns
        var loss = 0.0
        var negative = [Bool](repeating: true, count: columns)
        for r in 0..<b {
            let count = scores.negatives(r, masked: maskedColumns?[r], into: &negative)
            let scale = negativeWeight / count / Float(b)
            var rowLoss = Double(1 - scores.score(r, r))
            for c in 0..<columns {
                let s = scores.score(r, c)
                var g: Float = 0
                if c == r {
                    g = -1 / Float(b)
                } else if negative[c] && s > margin {
                    rowLoss += Double(negativeWeight / count * (s - margin))
                    g = scale
                }
                scores.setGradient(r, c, g)
            }
            loss += rowLoss
        }
        let (dU, dV, dE) = scores.backward()
        return (Float(loss / Double(b)), dU, dV, dE)
    }
}
