import Foundation
import LinearAlgebra

/// Pools the embeddings of a user's recent items into one vector: their mean (YouTube DNN's
/// watch-history average, SimpleX's behaviour aggregation), or, with a learned weight per item,
/// a softmax-weighted mean, so training can learn which items say more about a user (a very
/// popular item says little). `rows` maps an item id to a row of the table it reads, the item
/// tower's id table when shared; `weights` (one logit per item id, 0 at the start: the plain
/// mean) is the learned variant.
public enum HistoryEncoder {
    public static func forward(_ histories: [[Int32]], table: EmbeddingTable, rows: (Int32) -> Int32,
                               weights: EmbeddingTable? = nil) -> Matrix {
        let d = table.dimension
        var pooled = Matrix(rows: histories.count, cols: d)
        pooled.values.withUnsafeMutableBufferPointer { p in
            table.weights.values.withUnsafeBufferPointer { w in
                for (r, items) in histories.enumerated() where !items.isEmpty {
                    let shares = weights.map { self.shares(items, rows: rows, tableRows: table.count, weights: $0) }
                    let mean = 1 / Float(items.count)
                    for (k, item) in items.enumerated() {
                        let row = Int(rows(item)), scale = shares?[k] ?? mean
                        guard row >= 0 && row < table.count && scale != 0 else { continue }
                        for j in 0..<d { p[r * d + j] += scale * w[row * d + j] }
                    }
                }
            }
        }
        return pooled
    }

    /// Each item's share of the weighted pool: the softmax of the learned logits over the items
    /// the table has (0 for the others). The plain mean instead divides by every item, as the
    /// encoder did before weights existed.
    static func shares(_ items: [Int32], rows: (Int32) -> Int32, tableRows: Int, weights: EmbeddingTable) -> [Float] {
        let known = items.map { item -> Bool in let row = rows(item); return row >= 0 && Int(row) < tableRows }
        var logits = [Float](repeating: -.infinity, count: items.count)
        weights.weights.values.withUnsafeBufferPointer { a in
            for k in items.indices where known[k] && Int(items[k]) < weights.count { logits[k] = a[Int(items[k])] }
        }
        // Items beyond the weight table (added after training) get logit 0, the starting weight.
        for k in items.indices where known[k] && logits[k] == -.infinity { logits[k] = 0 }
        let top = logits.max() ?? 0
        guard top > -.infinity else { return [Float](repeating: 0, count: items.count) }
        var shares = logits.map { $0 == -.infinity ? 0 : expf($0 - top) }
        let total = shares.reduce(0, +)
        for k in shares.indices { shares[k] /= total }
        return shares
    }
}
