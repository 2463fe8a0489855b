#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra

/// Element-wise non-linearity between MLP layers.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case relu, gelu

    public func forward(_ x: Matrix) -> Matrix {
        var y = x
        switch self {
        case .relu:
            for i in y.values.indices where y.values[i] < 0 { y.values[i] = 0 }
        case .gelu:
            for i in y.values.indices { y.values[i] = Self.gelu(x.values[i]) }
        }
        return y
    }

    /// dL/dx from the forward pass's input and dL/dy.
    public func backward(input x: Matrix, gradient dy: Matrix) -> Matrix {
        var dx = dy
        switch self {
        case .relu:
            for i in dx.values.indices where x.values[i] <= 0 { dx.values[i] = 0 }
        case .gelu:
            for i in dx.values.indices { dx.values[i] *= Self.geluDerivative(x.values[i]) }
        }
        return dx
    }

    // GELU with the tanh approximation (Hendrycks & Gimpel), as BERT and PyTorch's `approximate="tanh"`.
    private static let c: Float = (2 / Float.pi).squareRoot()

    static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) }

    static func geluDerivative(_ x: Float) -> Float {
        let inner = c * (x + 0.044715 * x * x * x)
        let t = tanhf(inner)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    }
}
