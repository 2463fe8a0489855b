import CKernels
import Foundation
import LinearAlgebra

/// A table of trainable rows during training (ids, tokens, history weights), held in buffers the
/// step's threads read and update in place, with its Adam moments, and the rows a step touched as
/// sparse gradients split by row range: part t owns rows `range(t)`, so parts are written, summed
/// and applied by their own thread with no locks, and the same thread count gives the same bits.
final class ParameterTable: @unchecked Sendable {
    let rows: Int
    let dimension: Int
    let weights: Buffer<Float>
    private let first: Buffer<Float>
    private let second: Buffer<Float>
    let parts: [GradientPart]

    init(_ table: EmbeddingTable, parts: Int) {
        rows = table.count
        dimension = table.dimension
        weights = Buffer(table.weights.values)
        first = Buffer(count: table.weights.values.count, repeating: 0)
        second = Buffer(count: table.weights.values.count, repeating: 0)
        let shared = Buffer<Int32>(count: max(rows, 1), repeating: -1)
        self.parts = (0..<parts).map { GradientPart(slots: shared, dimension: table.dimension, range: Parallel.range($0, of: parts, count: table.count)) }
    }

    /// The table as the model's value type (a copy).
    var table: EmbeddingTable {
        EmbeddingTable(weights: Matrix(rows: rows, cols: dimension, values: weights.array))
    }

    /// The part that owns row `row`.
    @inline(__always) func part(of row: Int32) -> Int {
        // Ranges are Parallel.range's: the part is the largest t with t·rows/parts ≤ row.
        let t = parts.count
        var p = Int(row) * t / max(rows, 1)
        while p + 1 < t && parts[p + 1].range.lowerBound <= Int(row) { p += 1 }
        while p > 0 && parts[p].range.lowerBound > Int(row) { p -= 1 }
        return p
    }

    /// Σ g² over the step's gradients (for clipping).
    func squaredNorm() -> Double { parts.reduce(0) { $0 + $1.squaredNorm() } }

    /// One lazy Adam step of part `part` on the rows it touched, scaled by `scale` (clipping),
    /// then empties the part. `rate` is the bias-corrected step size.
    func apply(part index: Int, learningRate: Float, rate: Float, weightDecay: Float, scale: Float,
               beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        let part = parts[index]
        let d = dimension
        let w = weights.pointer, m = first.pointer, v = second.pointer
        let decay = learningRate * weightDecay
        // In row order (the part's slots, scanned), so the weights and moments stream through
        // memory instead of being read at random; a step touches most rows of a table whose
        // history encoder reads it.
        part.forEachRow { row, g in
            let base = Int(row) * d
            tt_adam_row(w + base, m + base, v + base, g, d, scale, beta1, beta2, epsilon, rate, decay)
        }
        part.clear()
    }
}

/// The rows of one range of a table that a step touched, with their summed gradients. Slots are
/// shared with the other parts (each writes only the slots of its own rows); values grow once to
/// the largest step seen and are then reused.
final class GradientPart: @unchecked Sendable {
    let range: Range<Int>
    let dimension: Int
    private let slots: Buffer<Int32>
    private(set) var ids: Buffer<Int32>
    private(set) var values: Buffer<Float>
    private(set) var count = 0

    init(slots: Buffer<Int32>, dimension: Int, range: Range<Int>) {
        self.slots = slots
        self.dimension = dimension
        self.range = range
        let initial = min(max(range.count, 1), 1_024)
        ids = Buffer(count: initial, repeating: 0)
        values = Buffer(count: initial * dimension, repeating: 0)
    }

    /// The gradient row of table row `row` (which this part owns), zeroed when first touched.
    @inline(__always) func row(_ row: Int32) -> UnsafeMutablePointer<Float> {
        var s = Int(slots[Int(row)])
        if s < 0 {
            if count == ids.count { grow() }
            s = count
            slots[Int(row)] = Int32(s)
            ids[s] = row
            (values.pointer + s * dimension).update(repeating: 0, count: dimension)
            count += 1
        }
        return values.pointer + s * dimension
    }

    /// Adds `scale · g` to row `row`.
    @inline(__always) func add(_ row: Int32, _ g: UnsafePointer<Float>, scale: Float = 1) {
        tt_axpy(dimension, scale, g, self.row(row))
    }

    /// Calls `body(row, gradient)` for every touched row, in row order.
    @inline(__always) func forEachRow(_ body: (Int32, UnsafePointer<Float>) -> Void) {
        if count * 8 < range.count {
            // Few rows: visit them by id, sorted, rather than scanning the range.
            let sorted = (0..<count).map { ids[$0] }.sorted()
            for row in sorted { body(row, values.pointer + Int(slots[Int(row)]) * dimension) }
            return
        }
        for row in range {
            let s = slots[row]
            if s >= 0 { body(Int32(row), values.pointer + Int(s) * dimension) }
        }
    }

    func squaredNorm() -> Double {
        var total: Float = 0
        for i in 0..<(count * dimension) { total += values[i] * values[i] }
        return Double(total)
    }

    /// Forgets the touched rows (their slots back to −1).
    func clear() {
        for s in 0..<count { slots[Int(ids[s])] = -1 }
        count = 0
    }

    private func grow() {
        let capacity = ids.count * 2
        let newIDs = Buffer<Int32>(count: capacity, repeating: 0)
        newIDs.pointer.update(from: ids.pointer, count: count)
        let newValues = Buffer<Float>(count: capacity * dimension, repeating: 0)
        newValues.pointer.update(from: values.pointer, count: count * dimension)
        ids = newIDs
        values = newValues
    }
}
