import LinearAlgebra

/// Mean-pools the embeddings of a user's recent items (YouTube DNN's watch-history average,
/// SimpleX's behaviour aggregation). `rows` maps an item id to a row of the table it reads,
/// the item tower's id table when shared.
public enum HistoryEncoder {
    public static func forward(_ histories: [[Int32]], table: EmbeddingTable, rows: (Int32) -> Int32) -> Matrix {
        let d = table.dimension
        var pooled = Matrix(rows: histories.count, cols: d)
        pooled.values.withUnsafeMutableBufferPointer { p in
            table.weights.values.withUnsafeBufferPointer { w in
                for (r, items) in histories.enumerated() where !items.isEmpty {
                    let scale = 1 / Float(items.count)
                    for item in items {
                        let row = Int(rows(item))
                        guard row >= 0 && row < table.count else { continue }
                        for j in 0..<d { p[r * d + j] += scale * w[row * d + j] }
                    }
                }
            }
        }
        return pooled
    }

    /// Adds each item's share of dL/d(pooled) to its row.
    public static func backward(_ histories: [[Int32]], gradient: Matrix, rows: (Int32) -> Int32, into accumulator: inout SparseAccumulator) {
        let d = gradient.cols
        gradient.values.withUnsafeBufferPointer { g in
            for (r, items) in histories.enumerated() where !items.isEmpty {
                let scale = 1 / Float(items.count)
                for item in items {
                    let row = rows(item)
                    if row >= 0 { accumulator.add(row, g.baseAddress! + r * d, scale: scale) }
                }
            }
        }
    }
}
