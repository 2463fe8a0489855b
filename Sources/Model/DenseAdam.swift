import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (AdamW when `weightDecay` > 0: decoupled decay) for dense parameters such as MLP
/// weights, which every batch updates in full. Parameters and gradients are lists of matrices
/// in a fixed order (`MLP.parameters`).
public struct DenseAdam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    private var first: [[Float]]
    private var second: [[Float]]
    public private(set) var step = 0

    public init(shapes parameters: [Matrix], learningRate: Float) {
        self.learningRate = learningRate
        first = parameters.map { [Float](repeating: 0, count: $0.values.count) }
        second = first
    }

    public mutating func apply(_ gradients: [Matrix], to parameters: inout [Matrix]) {
        precondition(gradients.count == parameters.count && parameters.count == first.count, "DenseAdam: parameter lists differ")
        step += 1
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        let rate = learningRate * correction2.squareRoot() / correction1
        for p in parameters.indices {
            for i in parameters[p].values.indices {
                let g = gradients[p].values[i]
                let m = beta1 * first[p][i] + (1 - beta1) * g
                let v = beta2 * second[p][i] + (1 - beta2) * g * g
                first[p][i] = m
                second[p][i] = v
                var w = parameters[p].values[i]
                if weightDecay > 0 { w -= learningRate * weightDecay * w }
                parameters[p].values[i] = w - rate * m / (v.squareRoot() + epsilon)
            }
        }
    }
}
