import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One Adam/AdamW element update, shared by the sparse and the dense optimiser.
/// `rate` is the step's bias-corrected learning rate (`AdamRule.rate`).
@inline(__always)
func adamUpdate(weight w: inout Float, gradient g: Float, first m: inout Float, second v: inout Float,
                beta1: Float, beta2: Float, epsilon: Float, learningRate: Float, weightDecay: Float, rate: Float) {
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    if weightDecay > 0 { w -= learningRate * weightDecay * w }
    w -= rate * m / (v.squareRoot() + epsilon)
}

/// Adam's bias-corrected step size at `step` (from 1).
@inline(__always)
func adamRate(learningRate: Float, beta1: Float, beta2: Float, step: Int) -> Float {
    learningRate * (1 - powf(beta2, Float(step))).squareRoot() / (1 - powf(beta1, Float(step)))
}

/// Adam with lazy (sparse) updates for embedding tables: only the rows a batch touched have their
/// moments and weights updated, with bias correction by the global step (as TensorFlow's
/// LazyAdam). Optional decoupled weight decay (AdamW) on the touched rows.
public struct LazyAdam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    private var first: Matrix
    private var second: Matrix
    public private(set) var step = 0

    public init(rows: Int, dimension: Int, learningRate: Float) {
        self.learningRate = learningRate
        first = Matrix(rows: rows, cols: dimension)
        second = Matrix(rows: rows, cols: dimension)
    }

    /// Applies one step to `table` from `gradient`.
    public mutating func apply(_ gradient: SparseGradient, to table: inout EmbeddingTable) {
        step += 1
        let d = table.dimension
        let rate = adamRate(learningRate: learningRate, beta1: beta1, beta2: beta2, step: step)
        for (s, id) in gradient.ids.enumerated() {
            let base = Int(id) * d
            for j in 0..<d {
                adamUpdate(weight: &table.weights.values[base + j], gradient: gradient.values.values[s * d + j],
                           first: &first.values[base + j], second: &second.values[base + j], beta1: beta1, beta2: beta2,
                           epsilon: epsilon, learningRate: learningRate, weightDecay: weightDecay, rate: rate)
            }
        }
    }
}
