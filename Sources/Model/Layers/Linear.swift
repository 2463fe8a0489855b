import LinearAlgebra
import Randomness

/// How a layer's weights are drawn: Xavier/Glorot (variance 2 / (in + out)) for layers
/// followed by nothing or a symmetric activation, Kaiming/He (variance 2 / in) before a ReLU.
public enum Initialization: String, Sendable, Codable {
    case xavier, kaiming

    func standardDeviation(inputs: Int, outputs: Int) -> Float {
        switch self {
        case .xavier: (2 / Float(inputs + outputs)).squareRoot()
        case .kaiming: (2 / Float(inputs)).squareRoot()
        }
    }
}

/// A fully connected layer y = x·W + b over a batch of rows; both passes are sgemm calls.
public struct Linear: Sendable, Equatable {
    /// inputs × outputs.
    public var weight: Matrix
    /// 1 × outputs.
    public var bias: Matrix

    public var inputs: Int { weight.rows }
    public var outputs: Int { weight.cols }

    public init(inputs: Int, outputs: Int, initialization: Initialization, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let std = initialization.standardDeviation(inputs: inputs, outputs: outputs)
        weight = Matrix(rows: inputs, cols: outputs, values: (0..<(inputs * outputs)).map { _ in std * Float(rng.nextGaussian()) })
        bias = Matrix(rows: 1, cols: outputs)
    }

    public init(weight: Matrix, bias: Matrix) {
        precondition(bias.rows == 1 && bias.cols == weight.cols, "Linear: bias must be 1×\(weight.cols)")
        self.weight = weight
        self.bias = bias
    }

    public func forward(_ x: Matrix) -> Matrix {
        var y = Matrix(rows: x.rows, cols: outputs)
        for r in 0..<x.rows { y.values.replaceSubrange((r * outputs)..<((r + 1) * outputs), with: bias.values) }
        BLAS.gemm(x, .none, weight, .none, into: &y, beta: 1)
        return y
    }

    /// Gradients of the loss with respect to the input, the weight and the bias, given the
    /// input of the forward pass and dL/dy.
    public func backward(input x: Matrix, gradient dy: Matrix) -> (dx: Matrix, dWeight: Matrix, dBias: Matrix) {
        let dx = BLAS.multiply(dy, .none, weight, .transposed)
        let dWeight = BLAS.multiply(x, .transposed, dy, .none)
        var dBias = Matrix(rows: 1, cols: outputs)
        for r in 0..<dy.rows {
            for j in 0..<outputs { dBias.values[j] += dy.values[r * outputs + j] }
        }
        return (dx, dWeight, dBias)
    }
}
