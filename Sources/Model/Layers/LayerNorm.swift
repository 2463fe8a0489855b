import LinearAlgebra

/// Layer normalisation (Ba et al. 2016): each row standardised to mean 0 and variance 1, then
/// scaled by `gain` and shifted by `shift`, so MLP activations keep a steady scale while training.
public struct LayerNorm: Sendable, Equatable {
    /// 1 × width each.
    public var gain: Matrix
    public var shift: Matrix
    public var epsilon: Float = 1e-5

    public init(width: Int) {
        gain = Matrix(rows: 1, cols: width, repeating: 1)
        shift = Matrix(rows: 1, cols: width)
    }

    public init(gain: Matrix, shift: Matrix) {
        self.gain = gain
        self.shift = shift
    }

    /// What the backward pass needs: the standardised rows and each row's 1/σ.
    public struct Cache: Sendable {
        var normalized: Matrix
        var inverseDeviations: [Float]
    }

    public func forward(_ x: Matrix) -> (y: Matrix, cache: Cache) {
        let d = x.cols
        var normalized = x, y = x
        var inverse = [Float](repeating: 0, count: x.rows)
        for r in 0..<x.rows {
            var mean: Float = 0
            for j in 0..<d { mean += x.values[r * d + j] }
            mean /= Float(d)
            var variance: Float = 0
            for j in 0..<d { variance += (x.values[r * d + j] - mean) * (x.values[r * d + j] - mean) }
            let inv = 1 / (variance / Float(d) + epsilon).squareRoot()
            inverse[r] = inv
            for j in 0..<d {
                let n = (x.values[r * d + j] - mean) * inv
                normalized.values[r * d + j] = n
                y.values[r * d + j] = n * gain.values[j] + shift.values[j]
            }
        }
        return (y, Cache(normalized: normalized, inverseDeviations: inverse))
    }

    /// dL/dx, dL/dgain, dL/dshift.
    public func backward(cache: Cache, gradient dy: Matrix) -> (dx: Matrix, dGain: Matrix, dShift: Matrix) {
        let d = dy.cols
        var dx = dy
        var dGain = Matrix(rows: 1, cols: d), dShift = Matrix(rows: 1, cols: d)
        for r in 0..<dy.rows {
            var sum: Float = 0, dot: Float = 0
            for j in 0..<d {
                let g = dy.values[r * d + j] * gain.values[j]   // dL/d(normalized)
                let n = cache.normalized.values[r * d + j]
                sum += g
                dot += g * n
                dGain.values[j] += dy.values[r * d + j] * n
                dShift.values[j] += dy.values[r * d + j]
            }
            let mean = sum / Float(d), meanDot = dot / Float(d)
            for j in 0..<d {
                let g = dy.values[r * d + j] * gain.values[j]
                dx.values[r * d + j] = cache.inverseDeviations[r] * (g - mean - cache.normalized.values[r * d + j] * meanDot)
            }
        }
        return (dx, dGain, dShift)
    }
}
