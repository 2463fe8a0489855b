import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        let rate = learningRate * correction2.squareRoot() / correction1
        for (s, id) in gradient.ids.enumerated() {
            let base = Int(id) * d
            for j in 0..<d {
                let g = gradient.values.values[s * d + j]
                let m = beta1 * first.values[base + j] + (1 - beta1) * g
                let v = beta2 * second.values[base + j] + (1 - beta2) * g * g
                first.values[base + j] = m
                second.values[base + j] = v
                var w = table.weights.values[base + j]
                if weightDecay > 0 { w -= learningRate * weightDecay * w }
                table.weights.values[base + j] = w - rate * m / (v.squareRoot() + epsilon)
            }
        }
    }
}
