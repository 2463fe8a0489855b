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
        let b = u.rows, d = u.cols
        let n = extra?.ids.count ?? 0
        let ids = itemIDs + (extra?.ids ?? [])
        var gIn = BLAS.multiply(u, .none, v, .transposed)
        var gOut = extra.map { BLAS.multiply(u, .none, $0.embeddings, .transposed) } ?? Matrix(rows: b, cols: 0)
        var loss = 0.0
        var negative = [Bool](repeating: true, count: b + n)
        for r in 0..<b {
            for c in 0..<(b + n) { negative[c] = c != r && ids[c] != ids[r] }
            for c in maskedColumns?[r] ?? [] where c != r { negative[c] = false }
            let count = Float(max(negative.filter { $0 }.count, 1))
            let scale = negativeWeight / count / Float(b)
            var rowLoss = Double(1 - gIn.values[r * b + r])
            for c in 0..<(b + n) {
                let s = c < b ? gIn.values[r * b + c] : gOut.values[r * n + c - b]
                var g: Float = 0
                if c == r {
                    g = -1 / Float(b)
                } else if negative[c] && s > margin {
                    rowLoss += Double(negativeWeight / count * (s - margin))
                    g = scale
                }
                if c < b { gIn.values[r * b + c] = g } else { gOut.values[r * n + c - b] = g }
            }
            loss += rowLoss
        }
        var dU = BLAS.multiply(gIn, .none, v, .none)
        let dV = BLAS.multiply(gIn, .transposed, u, .none)
        var dE = Matrix(rows: n, cols: d)
        if let extra, n > 0 {
            BLAS.gemm(gOut, .none, extra.embeddings, .none, into: &dU, alpha: 1, beta: 1)
            dE = BLAS.multiply(gOut, .transposed, u, .none)
        }
        return (Float(loss / Double(b)), dU, dV, dE)
    }
}
