import Dispatch
import Foundation
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
    /// extra negatives (N × d, empty when there are none), and with respect to 1/τ (for a learned
    /// temperature). `logQ` has one entry per column (B + N) or is nil for no correction.
    ///
    /// Work is split by rows: each of `parts` workers (2 for large batches) takes a range of rows
    /// through the whole computation with single-threaded BLAS (logits, softmax, gradient
    /// products), so the cores never wait on each other; the item gradients of the parts are
    /// summed in part order, so results do not depend on scheduling.
    public func lossAndGradients(users u: Matrix, items v: Matrix, itemIDs: [Int32], extra: ExtraNegatives?,
                                 logQ: [Float]?, maskedColumns: [[Int]]? = nil, parts requestedParts: Int? = nil)
        -> (loss: Float, dUsers: Matrix, dItems: Matrix, dExtra: Matrix, dInverseTemperature: Float) {
        let b = u.rows, d = u.cols
        precondition(v.rows == b && itemIDs.count == b, "one positive item per user row")
        let n = extra?.ids.count ?? 0
        precondition(logQ == nil || logQ!.count == b + n, "one log q per candidate column")
        let parts = max(1, min(requestedParts ?? (b >= 256 ? 2 : 1), b))
        let ids = itemIDs + (extra?.ids ?? [])
        let inverseT = 1 / temperature
        let savedThreads = BLAS.threads
        if parts > 1 { BLAS.threads = 1 }
        defer { if parts > 1 { BLAS.threads = savedThreads } }
        let results = Parallel.map(parts: parts) { part -> PartResult in
            let lo = part * b / parts, hi = (part + 1) * b / parts, rows = hi - lo
            let ub = Matrix(rows: rows, cols: d, values: Array(u.values[(lo * d)..<(hi * d)]))
            var gIn = BLAS.multiply(ub, .none, v, .transposed)                         // rows × B
            var gOut = extra.map { BLAS.multiply(ub, .none, $0.embeddings, .transposed) } ?? Matrix(rows: rows, cols: 0)
            var loss = 0.0, dInverse = 0.0
            var row = [Float](repeating: 0, count: b + n)
            for i in 0..<rows {
                let r = lo + i
                for c in 0..<b { row[c] = gIn.values[i * b + c] }
                for c in 0..<n { row[b + c] = gOut.values[i * n + c] }
                for c in 0..<(b + n) {
                    var x = row[c] * inverseT - (logQ?[c] ?? 0)
                    if c != r && ids[c] == ids[r] { x = -.infinity }
                    row[c] = x
                }
                if let masks = maskedColumns?[r] { for c in masks where c != r { row[c] = -.infinity } }
                var maxLogit = -Float.infinity
                for c in 0..<(b + n) { maxLogit = max(maxLogit, row[c]) }
                var sum: Float = 0
                for c in 0..<(b + n) {
                    let e = row[c] == -.infinity ? 0 : expf(row[c] - maxLogit)
                    row[c] = e
                    sum += e
                }
                loss -= Double(logf(row[r] / sum))
                // dL/dlogit = (softmax − onehot) / B, then through the 1/τ scale;
                // dL/d(1/τ) = Σ_c dL/dlogit_c · cos_c, for a learned temperature.
                for c in 0..<b {
                    let g = (row[c] / sum - (c == r ? 1 : 0)) / Float(b)
                    dInverse += Double(g * gIn.values[i * b + c])
                    gIn.values[i * b + c] = g * inverseT
                }
                for c in 0..<n {
                    let g = row[b + c] / sum / Float(b)
                    dInverse += Double(g * gOut.values[i * n + c])
                    gOut.values[i * n + c] = g * inverseT
                }
            }
            var du = BLAS.multiply(gIn, .none, v, .none)                              // rows × d
            let dv = BLAS.multiply(gIn, .transposed, ub, .none)                       // B × d, partial
            var de = Matrix(rows: n, cols: d)
            if let extra, n > 0 {
                BLAS.gemm(gOut, .none, extra.embeddings, .none, into: &du, alpha: 1, beta: 1)
                de = BLAS.multiply(gOut, .transposed, ub, .none)                      // N × d, partial
            }
            return PartResult(loss: loss, dUsers: du, dItems: dv, dExtra: de, dInverseTemperature: dInverse)
        }
        var dU = Matrix(rows: 0, cols: d), dV = Matrix(rows: b, cols: d), dE = Matrix(rows: n, cols: d)
        var loss = 0.0, dInverse = 0.0
        var users: [Float] = []
        users.reserveCapacity(b * d)
        for part in results {
            loss += part.loss
            dInverse += part.dInverseTemperature
            users += part.dUsers.values
            for i in dV.values.indices { dV.values[i] += part.dItems.values[i] }
            for i in dE.values.indices { dE.values[i] += part.dExtra.values[i] }
        }
        dU = Matrix(rows: b, cols: d, values: users)
        return (Float(loss / Double(b)), dU, dV, dE, Float(dInverse))
    }
}

/// One row range's share of a batch.
struct PartResult: Sendable {
    var loss: Double
    var dUsers: Matrix
    var dItems: Matrix
    var dExtra: Matrix
    var dInverseTemperature: Double
}
