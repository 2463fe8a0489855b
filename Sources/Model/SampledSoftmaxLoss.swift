import Dispatch
import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// In-batch sampled softmax (InfoNCE) with temperature τ: for each (user, positive item) pair of
/// a batch, the other items of the batch are the negatives, and the loss is the cross-entropy of
/// the positive among them, averaged over the batch:
///
///     L = −(1/B) Σ_b log softmax(u_b · V_batchᵀ / τ)[b]
///
/// Accidental positives are masked: when the same item appears twice in a batch, the other copy
/// is not a negative for either row; nor are the columns listed in `maskedColumns[row]` (items of
/// the batch the row's user is known to have interacted with).
public struct SampledSoftmaxLoss: Sendable {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    /// The loss and the gradients with respect to the user and item embeddings (both B × d).
    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32],
                                 maskedColumns: [[Int]]? = nil) -> (loss: Float, dUsers: Matrix, dItems: Matrix) {
        let b = u.rows
        precondition(v.rows == b && itemIDs.count == b, "one positive item per user row")
        var logits = BLAS.multiply(u, .none, v, .transposed)  // B × B
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
                        let row = r * b
                        var maxLogit = -Float.infinity
                        for c in 0..<b {
                            var x = l[row + c] * inverseT
                            if c != r && itemIDs[c] == itemIDs[r] { x = -.infinity }
                            l[row + c] = x
                        }
                        if let masks = maskedColumns?[r] { for c in masks where c != r { l[row + c] = -.infinity } }
                        for c in 0..<b { maxLogit = max(maxLogit, l[row + c]) }
                        var sum: Float = 0
                        for c in 0..<b {
                            let e = l[row + c] == -.infinity ? 0 : expf(l[row + c] - maxLogit)
                            l[row + c] = e
                            sum += e
                        }
                        loss -= Double(logf(l[row + r] / sum))
                        // dL/dlogit = (softmax − onehot) / B, then through the 1/τ scale.
                        let scale = inverseT / Float(b)
                        for c in 0..<b { l[row + c] = (l[row + c] / sum - (c == r ? 1 : 0)) * scale }
                    }
                    shared.losses[part] = loss
                }
            }
        }
        let loss = partLoss.reduce(0, +)
        let dU = BLAS.multiply(logits, .none, v, .none)
        let dV = BLAS.multiply(logits, .transposed, u, .none)
        return (Float(loss / Double(b)), dU, dV)
    }
}

/// The logits and per-part losses, written by disjoint row ranges of the worker threads.
private struct RowsBox: @unchecked Sendable {
    let logits: UnsafeMutableBufferPointer<Float>
    let losses: UnsafeMutableBufferPointer<Double>
}
