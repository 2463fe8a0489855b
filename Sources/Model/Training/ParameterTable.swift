import CKernels
import Foundation
import LinearAlgebra

/// A table of trainable rows during training (ids, tokens, history weights), held in buffers the
/// step's threads read and update in place, with its Adam moments.
///
/// A step's gradient for the table is never written out row by row: the step's threads record
/// *contributions* (a table row, a pointer to a d-wide gradient in a step workspace, a scale),
/// each thread into its own list; `index` sorts them by row (a counting sort: the lists in
/// thread order, each in the order it was filled), and `apply` then walks rows in order, sums
/// each row's contributions into a small buffer that stays in cache and takes the Adam step on
/// it at once. The gradient sources are small and hot (one row per distinct user or candidate);
/// the table and its moments stream through memory once. Same inputs and thread count, same bits.
final class ParameterTable: @unchecked Sendable {
    let rows: Int
    let dimension: Int
    let weights: Buffer<Float>
    private let first: Buffer<Float>
    private let second: Buffer<Float>
    let lists: [ContributionList]
    /// CSR of the contributions by row: those of row r are `order[rowStart[r] ..< rowStart[r + 1]]`.
    private let rowStart: Buffer<Int32>
    private var order: Buffer<ContributionList.Entry>

    init(_ table: EmbeddingTable, parts: Int) {
        rows = table.count
        dimension = table.dimension
        weights = Buffer(table.weights.values)
        first = Buffer(count: table.weights.values.count, repeating: 0)
        second = Buffer(count: table.weights.values.count, repeating: 0)
        lists = (0..<parts).map { _ in ContributionList() }
        rowStart = Buffer(count: rows + 1, repeating: 0)
        order = Buffer(count: 1_024, repeating: ContributionList.Entry(source: nil, scale: 0))
    }

    /// The table as the model's value type (a copy).
    var table: EmbeddingTable {
        EmbeddingTable(weights: Matrix(rows: rows, cols: dimension, values: weights.array))
    }

    /// Sorts the step's contributions by row (call once every list is filled).
    func index() {
        reserveOrder()
        index(rows: 0..<rows)
    }

    /// Grows the sorted buffer to hold every contribution of the step (call before the
    /// `index(rows:)` calls that share it).
    func reserveOrder() {
        let total = lists.reduce(0) { $0 + $1.count }
        if total > order.count { order = Buffer(count: max(total, order.count * 2), repeating: ContributionList.Entry(source: nil, scale: 0)) }
    }

    /// The part of `index` for the table rows `range`: threads given disjoint ranges that cover
    /// the table build the same index as one thread (a range's contributions land after those of
    /// every lower row, which the call counts itself). Every list is read whole; only the range's
    /// starts and sorted slots are written.
    func index(rows range: Range<Int>) {
        guard !range.isEmpty else { return }
        // counts[r] is row r's start once indexed; this call writes only counts[range] (and the
        // end, counts[rows], when the range is the last), so ranges never share a counter.
        let counts = rowStart.pointer
        let lower = range.lowerBound, upper = range.upperBound
        (counts + lower).update(repeating: 0, count: range.count)
        var below = 0
        for list in lists {
            let listRows = list.rows.pointer
            for i in 0..<list.count {
                let r = Int(listRows[i])
                if r < lower { below += 1 } else if r < upper { counts[r] += 1 }
            }
        }
        var next = Int32(below)
        for r in range {
            let c = counts[r]
            counts[r] = next
            next += c
        }
        if upper == rows { counts[rows] = next }
        // Fill with a moving cursor per row, then restore the starts.
        for list in lists {
            let listRows = list.rows.pointer, entries = list.entries.pointer
            for i in 0..<list.count {
                let r = Int(listRows[i])
                guard r >= lower && r < upper else { continue }
                order[Int(counts[r])] = entries[i]
                counts[r] += 1
            }
        }
        for r in stride(from: upper - 1, to: lower, by: -1) { counts[r] = counts[r - 1] }
        counts[lower] = Int32(below)
    }

    /// Row `row`'s gradient (the sum of its contributions, scaled by `scale`) into `out`;
    /// false when the step did not touch the row.
    @inline(__always) func gradient(row: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        let start = Int(rowStart[row]), end = Int(rowStart[row + 1])
        guard end > start else { return false }
        tt_sum_contributions(out, dimension, order.pointer + start, end - start)
        return true
    }

    /// Σ g² over rows `range` (for clipping).
    func squaredNorm(range: Range<Int>) -> Double {
        let g = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
        defer { g.deallocate() }
        var total = 0.0
        for r in range where gradient(row: r, into: g) {
            for j in 0..<dimension { total += Double(g[j] * g[j]) }
        }
        return total
    }

    /// One lazy Adam step on the touched rows of `range`, in row order, gradients scaled by
    /// `scale` (clipping). `rate` is the bias-corrected step size.
    func apply(range: Range<Int>, learningRate: Float, rate: Float, weightDecay: Float, scale: Float,
               beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        let d = dimension
        let w = weights.pointer, m = first.pointer, v = second.pointer
        let decay = learningRate * weightDecay
        let g = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { g.deallocate() }
        for r in range where gradient(row: r, into: g) {
            let base = r * d
            tt_adam_row(w + base, m + base, v + base, g, d, scale, beta1, beta2, epsilon, rate, decay)
        }
    }

    /// Forgets the step's contributions.
    func clear() { for list in lists { list.clear() } }
}

/// The gradient contributions one thread records for one table in a step: a row, a pointer to
/// `dimension` floats in a step workspace (valid until the step's Adam phase), and a scale.
/// Grows once to the largest step seen, then is reused.
final class ContributionList: @unchecked Sendable {
    typealias Entry = tt_contribution

    private(set) var rows = Buffer<Int32>(count: 1_024, repeating: 0)
    private(set) var entries = Buffer<Entry>(count: 1_024, repeating: Entry(source: nil, scale: 0))
    private(set) var count = 0

    @inline(__always) func add(_ row: Int32, _ source: UnsafePointer<Float>, scale: Float = 1) {
        if count == rows.count { grow() }
        rows[count] = row
        entries[count] = Entry(source: source, scale: scale)
        count += 1
    }

    func clear() { count = 0 }

    private func grow() {
        let capacity = rows.count * 2
        let newRows = Buffer<Int32>(count: capacity, repeating: 0)
        newRows.pointer.update(from: rows.pointer, count: count)
        let newEntries = Buffer<Entry>(count: capacity, repeating: Entry(source: nil, scale: 0))
        newEntries.pointer.update(from: entries.pointer, count: count)
        rows = newRows
        entries = newEntries
    }
}
