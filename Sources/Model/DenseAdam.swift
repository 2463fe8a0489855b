import LinearAlgebra

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
        let rate = adamRate(learningRate: learningRate, beta1: beta1, beta2: beta2, step: step)
        for p in parameters.indices {
            for i in parameters[p].values.indices {
                adamUpdate(weight: &parameters[p].values[i], gradient: gradients[p].values[i], first: &first[p][i], second: &second[p][i],
                           beta1: beta1, beta2: beta2, epsilon: epsilon, learningRate: learningRate, weightDecay: weightDecay, rate: rate)
            }
        }
    }
}
