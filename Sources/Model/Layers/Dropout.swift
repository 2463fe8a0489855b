import LinearAlgebra
import Randomness

/// Inverted dropout: while training, each activation is zeroed with probability `rate` and the
/// survivors scaled by 1/(1 − rate), so inference needs no rescaling and is the identity.
public struct Dropout: Sendable, Equatable {
    public var rate: Float

    public init(rate: Float) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
        self.rate = rate
    }

    /// The output and the mask (the factor each entry was multiplied by), drawn from `rng`.
    public func forward(_ x: Matrix, using rng: inout SplitMix64) -> (y: Matrix, mask: [Float]) {
        guard rate > 0 else { return (x, []) }
        let keep = 1 / (1 - rate)
        var y = x
        var mask = [Float](repeating: 0, count: x.values.count)
        for i in mask.indices {
            if rng.nextUnit() >= Double(rate) { mask[i] = keep }
            y.values[i] *= mask[i]
        }
        return (y, mask)
    }

    public func backward(mask: [Float], gradient dy: Matrix) -> Matrix {
        guard !mask.isEmpty else { return dy }
        var dx = dy
        for i in dx.values.indices { dx.values[i] *= mask[i] }
        return dx
    }
}
