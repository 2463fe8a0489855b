import Dispatch
import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sampled softmax (InfoNCE) with temperature τ over in-batch negatives and, optionally, extra
/// negatives shared by the whole batch (mixed negative sampling, Yang et al. 2020). For each
/// (user, positive item) pair b the candidates are the batch's items followed by the extra items:
///
///     logit_bc = u_b · c / τ − log q_c,     L = −(1/B) Σ_b log softmax(logit_b)[b]
///
/// where `log q_c` is the optional logQ correction (Yi et al. 2019): the log of how likely item c
/// was to be drawn as a candidate, so popular items are not over-penalised as negatives.
///
/// Accidental positives are masked: another copy of the row's own item (in the batch or among the
/// extras) is not a negative, nor are the columns in `maskedColumns[row]` (candidates the row's
/// user is known to have interacted with; indices into batch-then-extra order).
public struct SampledSoftmaxLoss: Sendable {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    /// The candidates beyond the batch: embeddings (N × d), ids, and per-column log q.
    public struct ExtraNegatives: Sendable {
        public var embeddings: Matrix
        public var ids: [Int32]
        public init(embeddings: Matrix, ids: [Int32]) {
            self.embeddings = embeddings
            self.ids = ids
        }
    }

    /// In-batch only (the common case).
    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32],
                                 maskedColumns: [[Int]]? = nil) -> (loss: Float, dUsers: Matrix, dItems: Matrix) {
        let r = lossAndGradients(users: u, items: v, itemIDs: itemIDs, extra: nil, logQ: nil, maskedColumns: maskedColumns)
        return (r.loss, r.dUsers, r.dItems)
    }

    /// The loss and gradients with respect to the users (B × d), the batch items (B × d) and the
    /// extra negatives (N × d, empty when there are none). `logQ` has one entry per column
    /// (B + N) or is nil for no correction.
    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32], extra: ExtraNegatives?,
                                 logQ: [Float]?, maskedColumns: [[Int]]? = nil)
        -> (loss: Float, dUsers: Matrix, dItems: Matrix, dExtra: Matrix) {
        let b = u.rows
        precondition(v.rows == b && itemIDs.count == b, "one positive item per user row")
        let n = extra?.ids.count ?? 0
        let width = b + n
        precondition(logQ == nil || logQ!.count == width, "one log q per candidate column")
        let ids = itemIDs + (extra?.ids ?? [])
        // Logits over [batch items | extra items].
        var logits = Matrix(rows: b, cols: width)
        let inBatch = BLAS.multiply(u, .none, v, .transposed)
        let outside = extra.map { BLAS.multiply(u, .none, $0.embeddings, .transposed) }
        for r in 0..<b {
            logits.values.replaceSubrange((r * width)..<(r * width + b), with: inBatch.values[(r * b)..<((r + 1) * b)])
            if let outside { logits.values.replaceSubrange((r * width + b)..<((r + 1) * width), with: outside.values[(r * n)..<((r + 1) * n)]) }
        }
        let inverseT = 1 / temperature
        // Rows are independent: split them over the cores, each part summing its own loss.
        let parts = b >= 256 ? 2 : 1
        var partLoss = [Double](repeating: 0, count: parts)
        logits.values.withUnsafeMutableBufferPointer { l in
            partLoss.withUnsafeMutableBufferPointer { losses in
                let shared = RowsBox(logits: l, losses: losses)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    let l = shared.logits
                    var loss = 0.0
                    for r in (part * b / parts)..<((part + 1) * b / parts) {
                        let row = r * width
                        for c in 0..<width {
                            var x = l[row + c] * inverseT - (logQ?[c] ?? 0)
                            if c != r && ids[c] == ids[r] { x = -.infinity }
                            l[row + c] = x
                        }
                        if let masks = maskedColumns?[r] { for c in masks where c != r { l[row + c] = -.infinity } }
                        var maxLogit = -Float.infinity
                        for c in 0..<width { maxLogit = max(maxLogit, l[row + c]) }
                        var sum: Float = 0
                        for c in 0..<width {
                            let e = l[row + c] == -.infinity ? 0 : expf(l[row + c] - maxLogit)
                            l[row + c] = e
                            sum += e
                        }
                        loss -= Double(logf(l[row + r] / sum))
                        // dL/dlogit = (softmax − onehot) / B, then through the 1/τ scale.
                        let scale = inverseT / Float(b)
                        for c in 0..<width { l[row + c] = (l[row + c] / sum - (c == r ? 1 : 0)) * scale }
                    }
                    shared.losses[part] = loss
                }
            }
        }
        let loss = partLoss.reduce(0, +)
        // Split the logit gradient back into its batch and extra columns.
        var gIn = Matrix(rows: b, cols: b), gOut = Matrix(rows: b, cols: n)
        for r in 0..<b {
            gIn.values.replaceSubrange((r * b)..<((r + 1) * b), with: logits.values[(r * width)..<(r * width + b)])
            if n > 0 { gOut.values.replaceSubrange((r * n)..<((r + 1) * n), with: logits.values[(r * width + b)..<((r + 1) * width)]) }
        }
        var dU = BLAS.multiply(gIn, .none, v, .none)
        let dV = BLAS.multiply(gIn, .transposed, u, .none)
        var dE = Matrix(rows: n, cols: u.cols)
        if let extra, n > 0 {
            BLAS.gemm(gOut, .none, extra.embeddings, .none, into: &dU, alpha: 1, beta: 1)
            dE = BLAS.multiply(gOut, .transposed, u, .none)
        }
        return (Float(loss / Double(b)), dU, dV, dE)
    }
}

/// The logits and per-part losses, written by disjoint row ranges of the worker threads.
private struct RowsBox: @unchecked Sendable {
    let logits: UnsafeMutableBufferPointer<Float>
    let losses: UnsafeMutableBufferPointer<Double>
}
