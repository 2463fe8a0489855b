import LinearAlgebra

/// Scores every item for a block of users: the model side of a full-ranking evaluation.
public protocol Scorer: Sendable {
    var itemCount: Int { get }
    /// Fills `scores` (users.count × itemCount) with the users' scores for every item.
    func scores(users: [Int], into scores: inout Matrix)
}

/// Inner products of user and item embeddings (row = dense id), one sgemm per block of users.
public struct EmbeddingScorer: Scorer {
    public let users: Matrix
    public let items: Matrix

    public init(users: Matrix, items: Matrix) {
        precondition(users.cols == items.cols, "user and item embeddings differ in dimension")
        self.users = users
        self.items = items
    }

    public var itemCount: Int { items.rows }

    public func scores(users ids: [Int], into scores: inout Matrix) {
        let d = users.cols
        var block = Matrix(rows: ids.count, cols: d)
        for (r, u) in ids.enumerated() {
            for j in 0..<d { block.values[r * d + j] = users.values[u * d + j] }
        }
        BLAS.gemm(block, .none, items, .transposed, into: &scores)
    }
}

/// Ranks items by their number of training interactions, the same for every user: the
/// reference every model has to beat (EVAL.md's ItemPop).
public struct PopularityScorer: Scorer {
    public let counts: [Float]

    public init(data: EvaluationData) {
        var counts = [Float](repeating: 0, count: data.itemCount)
        for items in data.masked { for i in items { counts[Int(i)] += 1 } }
        self.counts = counts
    }

    public var itemCount: Int { counts.count }

    public func scores(users: [Int], into scores: inout Matrix) {
        for r in 0..<users.count {
            scores.values.replaceSubrange((r * counts.count)..<((r + 1) * counts.count), with: counts)
        }
    }
}
