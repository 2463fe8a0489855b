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

/// Gradients for some rows of a table: row ids (unique) and their summed gradients.
public struct SparseGradient: Sendable {
    public var ids: [Int32]
    public var values: Matrix

    /// Sums the per-example gradient rows `perExample` (one per entry of `ids`, repeats allowed).
    public init(ids: [Int32], perExample: Matrix) {
        var slot: [Int32: Int] = [:]
        var unique: [Int32] = []
        for id in ids where slot[id] == nil {
            slot[id] = unique.count
            unique.append(id)
        }
        let d = perExample.cols
        var values = Matrix(rows: unique.count, cols: d)
        for (r, id) in ids.enumerated() {
            let s = slot[id]!
            for j in 0..<d { values.values[s * d + j] += perExample.values[r * d + j] }
        }
        self.ids = unique
        self.values = values
    }
}

extension SparseGradient {
    /// Rows already summed: `ids` unique, one row of `values` each.
    public init(ids: [Int32], values: Matrix) {
        self.ids = ids
        self.values = values
    }
}

/// Sums weighted gradient rows for the rows of one table a batch touches, in a slot map the
/// size of the table that is kept between batches (no hashing on the hot path).
public struct SparseAccumulator: Sendable {
    public let dimension: Int
    private var slots: [Int32]
    private var ids: [Int32] = []
    private var values: [Float] = []

    public init(rows: Int, dimension: Int) {
        self.dimension = dimension
        slots = [Int32](repeating: -1, count: rows)
    }

    /// Adds scale · gradient (a row of `dimension` floats) to row `id`.
    public mutating func add(_ id: Int32, _ gradient: UnsafePointer<Float>, scale: Float = 1) {
        var s = Int(slots[Int(id)])
        if s < 0 {
            s = ids.count
            slots[Int(id)] = Int32(s)
            ids.append(id)
            values.append(contentsOf: repeatElement(0, count: dimension))
        }
        let d = dimension
        values.withUnsafeMutableBufferPointer { v in
            for j in 0..<d { v[s * d + j] += scale * gradient[j] }
        }
    }

    /// Adds every row of `gradients` (row r to `ids[r]`, skipping negative ids).
    public mutating func add(ids rowIDs: [Int32], _ gradients: Matrix, scale: Float = 1) {
        gradients.values.withUnsafeBufferPointer { g in
            for (r, id) in rowIDs.enumerated() where id >= 0 { add(id, g.baseAddress! + r * dimension, scale: scale) }
        }
    }

    /// The summed gradient, emptying the accumulator.
    public mutating func take() -> SparseGradient {
        for id in ids { slots[Int(id)] = -1 }
        let gradient = SparseGradient(ids: ids, values: Matrix(rows: ids.count, cols: dimension, values: values))
        ids = []
        values = []
        return gradient
    }
}
