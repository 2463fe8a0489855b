import LinearAlgebra
import Randomness

/// A table of trainable rows (one per id) with sparse gradients: a batch touches few rows, so
/// gradients are kept per touched row and the optimiser updates only those (lazy updates).
public struct EmbeddingTable: Sendable {
    /// rows × dimension parameters.
    public var weights: Matrix

    public var count: Int { weights.rows }
    public var dimension: Int { weights.cols }

    /// Rows drawn from N(0, scale²) with a seed (scale 0.1 by default, as common for ID embeddings).
    public init(count: Int, dimension: Int, scale: Float = 0.1, seed: UInt64) {
        guard scale != 0 else {
            weights = Matrix(rows: count, cols: dimension)
            return
        }
        var rng = SplitMix64(seed: seed)
        weights = Matrix(rows: count, cols: dimension, values: (0..<(count * dimension)).map { _ in scale * Float(rng.nextGaussian()) })
    }

    public init(weights: Matrix) { self.weights = weights }

    /// The rows of `ids`, stacked (ids.count × dimension).
    public func gather(_ ids: [Int32]) -> Matrix {
        let d = dimension
        var out = Matrix(rows: ids.count, cols: d)
        weights.values.withUnsafeBufferPointer { w in
            out.values.withUnsafeMutableBufferPointer { o in
                for (r, id) in ids.enumerated() {
                    (o.baseAddress! + r * d).update(from: w.baseAddress! + Int(id) * d, count: d)
                }
            }
        }
        return out
    }
}
