import LinearAlgebra

/// A retrieval loss over each user row's scores against the batch's candidates (the batch's
/// items, then the extra negatives). Towers know nothing of losses: the trainer computes the
/// scores (cosines, one sgemm), masks accidental positives, lets the loss turn every row into
/// dL/dscore in place, and back-propagates with two more sgemms.
///
/// Masking: on entry a masked column holds −∞ (another copy of the row's item, or an item the
/// row's user is known to have); a loss treats it as no candidate and writes 0 there. The row's
/// own column, `positive`, is never masked.
public protocol RetrievalLoss: Sendable {
    /// Replaces `scores[0..<count]` with dL/dscore for `scale` · (this row's loss), and returns
    /// the row's loss (unscaled) and dL/d(1/τ) (0 for a loss without a temperature).
    /// `logQ` (one per column, or nil) is subtracted from the logits by losses that use it.
    func rowGradient(_ scores: UnsafeMutablePointer<Float>, count: Int, positive: Int, logQ: UnsafePointer<Float>?,
                     scale: Float) -> (loss: Double, dInverseTemperature: Double)
}

/// What the matrix form of a loss returns.
public struct LossGradients: Sendable {
    public var loss: Float
    /// B × d, B × d and N × d.
    public var dUsers: Matrix
    public var dItems: Matrix
    public var dExtra: Matrix
    public var dInverseTemperature: Float
}

/// The candidates beyond the batch: embeddings (N × d) and ids.
public struct ExtraNegatives: Sendable {
    public var embeddings: Matrix
    public var ids: [Int32]
    public init(embeddings: Matrix, ids: [Int32]) {
        self.embeddings = embeddings
        self.ids = ids
    }
}

extension RetrievalLoss {
    /// The loss and gradients of whole matrices, the straightforward way (one product for the
    /// scores, the row kernel, two products back): the reference the trainer's fused step is
    /// checked against, and the form gradient tests use. Row b's positive is items row b;
    /// `maskedColumns[b]` lists further columns (batch then extra order) to mask for row b.
    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32], extra: ExtraNegatives? = nil,
                                 logQ: [Float]? = nil, maskedColumns: [[Int]]? = nil) -> LossGradients {
        let b = u.rows, d = u.cols, n = extra?.ids.count ?? 0, columns = b + n
        precondition(v.rows == b && itemIDs.count == b, "one positive item per user row")
        precondition(logQ == nil || logQ!.count == columns, "one log q per candidate column")
        let candidates = Matrix(rows: columns, cols: d, values: v.values + (extra?.embeddings.values ?? []))
        let ids = itemIDs + (extra?.ids ?? [])
        var scores = BLAS.multiply(u, .none, candidates, .transposed)
        var loss = 0.0, dInverse = 0.0
        scores.values.withUnsafeMutableBufferPointer { s in
            for r in 0..<b {
                let row = s.baseAddress! + r * columns
                for c in 0..<columns where c != r && ids[c] == ids[r] { row[c] = -.infinity }
                for c in maskedColumns?[r] ?? [] where c != r { row[c] = -.infinity }
                let result = logQ.map { q in q.withUnsafeBufferPointer { rowGradient(row, count: columns, positive: r, logQ: $0.baseAddress, scale: 1 / Float(b)) } }
                    ?? rowGradient(row, count: columns, positive: r, logQ: nil, scale: 1 / Float(b))
                loss += result.loss
                dInverse += result.dInverseTemperature
            }
        }
        let dU = BLAS.multiply(scores, .none, candidates, .none)
        let dC = BLAS.multiply(scores, .transposed, u, .none)
        return LossGradients(loss: Float(loss / Double(b)), dUsers: dU,
                             dItems: Matrix(rows: b, cols: d, values: Array(dC.values[0..<(b * d)])),
                             dExtra: Matrix(rows: n, cols: d, values: Array(dC.values[(b * d)...])),
                             dInverseTemperature: Float(dInverse))
    }
}
