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
            let positive = gIn.values[r * b + r]
            var positiveGradient: Float = 0
            for c in 0..<(b + n) where c != r {
                let s = c < b ? gIn.values[r * b + c] : gOut.values[r * n + c - b]
                var g: Float = 0
                if negative[c] {
                    let margin = (s - positive) / temperature
                    // softplus and its derivative σ, computed stably on both sides of 0.
                    loss += Double(margin > 0 ? margin + log1pf(expf(-margin)) : log1pf(expf(margin))) / Double(count)
                    let sigma = margin > 0 ? 1 / (1 + expf(-margin)) : expf(margin) / (1 + expf(margin))
                    g = sigma / temperature / count / Float(b)
                    positiveGradient -= g
                }
                if c < b { gIn.values[r * b + c] = g } else { gOut.values[r * n + c - b] = g }
            }
            gIn.values[r * b + r] = positiveGradient
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
