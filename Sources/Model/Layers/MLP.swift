import LinearAlgebra
import Randomness

/// The shape of a tower's MLP: hidden widths (none for a pure embedding model), activation,
/// LayerNorm after each hidden layer, dropout, and a residual connection around the whole stack
/// when its input and output widths agree.
public struct MLPSpec: Sendable, Codable, Equatable {
    public var hidden: [Int] = []
    public var activation = Activation.relu
    public var layerNorm = false
    public var dropout: Float = 0
    public var residual = true
    /// For the hidden layers; the output layer is always Xavier.
    public var initialization = Initialization.kaiming

    public init(hidden: [Int] = [], activation: Activation = .relu, layerNorm: Bool = false, dropout: Float = 0,
                residual: Bool = true, initialization: Initialization = .kaiming) {
        self.hidden = hidden
        self.activation = activation
        self.layerNorm = layerNorm
        self.dropout = dropout
        self.residual = residual
        self.initialization = initialization
    }
}

/// A multi-layer perceptron: [Linear → LayerNorm? → activation → dropout]* → Linear, plus the
/// input when the residual applies. Parameters are listed in a fixed order (`parameters`) so an
/// optimiser and a checkpoint can treat them as a flat list of matrices.
public struct MLP: Sendable, Equatable {
    public let spec: MLPSpec
    public var linears: [Linear]
    public var norms: [LayerNorm]

    public var inputs: Int { linears[0].inputs }
    public var outputs: Int { linears[linears.count - 1].outputs }
    var usesResidual: Bool { spec.residual && inputs == outputs }

    public init(inputs: Int, outputs: Int, spec: MLPSpec, seed: UInt64) {
        precondition(!spec.hidden.isEmpty, "an MLP needs at least one hidden layer")
        self.spec = spec
        let widths = [inputs] + spec.hidden + [outputs]
        linears = (0..<(widths.count - 1)).map { l in
            Linear(inputs: widths[l], outputs: widths[l + 1], initialization: l == widths.count - 2 ? .xavier : spec.initialization,
                   seed: seed &+ UInt64(l) &* 7919)
        }
        norms = spec.layerNorm ? spec.hidden.map { LayerNorm(width: $0) } : []
    }

    /// Weights and biases of each linear layer, then gain and shift of each LayerNorm.
    public var parameters: [Matrix] {
        get { linears.flatMap { [$0.weight, $0.bias] } + norms.flatMap { [$0.gain, $0.shift] } }
        set {
            precondition(newValue.count == parameterCount, "MLP: expected \(parameterCount) parameter matrices")
            for l in linears.indices { linears[l] = Linear(weight: newValue[2 * l], bias: newValue[2 * l + 1]) }
            let base = 2 * linears.count
            for n in norms.indices { norms[n] = LayerNorm(gain: newValue[base + 2 * n], shift: newValue[base + 2 * n + 1]) }
        }
    }

    public var parameterCount: Int { 2 * linears.count + 2 * norms.count }

    /// Everything the backward pass needs from a forward pass.
    public struct Cache: Sendable {
        var input: Matrix
        var linearInputs: [Matrix] = []
        var normCaches: [LayerNorm.Cache] = []
        var preActivations: [Matrix] = []
        var masks: [[Float]] = []
    }

    /// The output for a batch of rows. Dropout is applied only when `rng` is given (training).
    public func forward(_ x: Matrix, rng: inout SplitMix64?) -> (y: Matrix, cache: Cache) {
        var cache = Cache(input: x)
        var h = x
        let dropout = Dropout(rate: spec.dropout)
        for l in 0..<spec.hidden.count {
            cache.linearInputs.append(h)
            h = linears[l].forward(h)
            if spec.layerNorm {
                let (y, c) = norms[l].forward(h)
                cache.normCaches.append(c)
                h = y
            }
            cache.preActivations.append(h)
            h = spec.activation.forward(h)
            if rng != nil, spec.dropout > 0 {
                let (y, mask) = dropout.forward(h, using: &rng!)
                cache.masks.append(mask)
                h = y
            } else {
                cache.masks.append([])
            }
        }
        cache.linearInputs.append(h)
        var y = linears[linears.count - 1].forward(h)
        if usesResidual { for i in y.values.indices { y.values[i] += x.values[i] } }
        return (y, cache)
    }

    /// Inference: no dropout.
    public func callAsFunction(_ x: Matrix) -> Matrix {
        var none: SplitMix64? = nil
        return forward(x, rng: &none).y
    }

    /// dL/dx and the gradients of `parameters`, in the same order.
    public func backward(cache: Cache, gradient dy: Matrix) -> (dx: Matrix, gradients: [Matrix]) {
        var linearGradients = [(Matrix, Matrix)](repeating: (Matrix(rows: 0, cols: 0), Matrix(rows: 0, cols: 0)), count: linears.count)
        var normGradients = [(Matrix, Matrix)]()
        var g = dy
        let last = linears.count - 1
        var step = linears[last].backward(input: cache.linearInputs[last], gradient: g)
        linearGradients[last] = (step.dWeight, step.dBias)
        g = step.dx
        let dropout = Dropout(rate: spec.dropout)
        for l in stride(from: spec.hidden.count - 1, through: 0, by: -1) {
            g = dropout.backward(mask: cache.masks[l], gradient: g)
            g = spec.activation.backward(input: cache.preActivations[l], gradient: g)
            if spec.layerNorm {
                let n = norms[l].backward(cache: cache.normCaches[l], gradient: g)
                normGradients.insert((n.dGain, n.dShift), at: 0)
                g = n.dx
            }
            step = linears[l].backward(input: cache.linearInputs[l], gradient: g)
            linearGradients[l] = (step.dWeight, step.dBias)
            g = step.dx
        }
        if usesResidual { for i in g.values.indices { g.values[i] += dy.values[i] } }
        return (g, linearGradients.flatMap { [$0.0, $0.1] } + normGradients.flatMap { [$0.0, $0.1] })
    }
}
