import LinearAlgebra

/// Row-wise L2 normalisation, y = x / ‖x‖, and its backward pass. Both towers end with it, so
/// scores are cosines and the temperature alone sets the logits' scale.
public enum L2Normalize {
    /// Normalised rows and the norms (kept for the backward pass).
    public static func forward(_ x: Matrix) -> (y: Matrix, norms: [Float]) {
        var y = x
        var norms = [Float](repeating: 0, count: x.rows)
        let d = x.cols
        for r in 0..<x.rows {
            var s: Float = 0
            for j in 0..<d { s += x.values[r * d + j] * x.values[r * d + j] }
            let n = max(s.squareRoot(), 1e-12)
            norms[r] = n
            for j in 0..<d { y.values[r * d + j] /= n }
        }
        return (y, norms)
    }

    /// dL/dx = (dL/dy − y (y · dL/dy)) / ‖x‖, row by row.
    public static func backward(y: Matrix, norms: [Float], gradient dy: Matrix) -> Matrix {
        var dx = dy
        let d = y.cols
        for r in 0..<y.rows {
            var dot: Float = 0
            for j in 0..<d { dot += y.values[r * d + j] * dy.values[r * d + j] }
            for j in 0..<d { dx.values[r * d + j] = (dy.values[r * d + j] - y.values[r * d + j] * dot) / norms[r] }
        }
        return dx
    }
}

