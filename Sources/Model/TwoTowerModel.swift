import Foundation
import LinearAlgebra

/// The two towers: a user's score for an item is the inner product of their L2-normalised
/// embeddings (a cosine). Weights only; the features and histories it reads come in as
/// `TowerBatch` / `ModelInputs`, so the model knows nothing of the store.
public struct TwoTowerModel: Sendable {
    public let architecture: ModelArchitecture
    public var user: Tower
    public var item: Tower
    /// The history encoder's own table, when it does not share the item tower's id table.
    public var historyTable: EmbeddingTable?
    /// One logit per item for the history's weighted mean, when its weights are learned.
    public var historyWeights: EmbeddingTable?

    /// - Parameter initialize: false for a model whose weights are about to be loaded.
    public init(architecture: ModelArchitecture, seed: UInt64, initialize: Bool = true) {
        self.architecture = architecture
        user = Tower(spec: architecture.user, seed: seed, initialize: initialize)
        item = Tower(spec: architecture.item, seed: seed &+ 1, initialize: initialize)
        if let history = architecture.history, !history.shared {
            historyTable = EmbeddingTable(count: architecture.item.count, dimension: architecture.item.dimension,
                                          scale: initialize ? 0.1 : 0, seed: seed &+ 2)
        }
        if let history = architecture.history, history.hasLearnedWeights {
            // Zero logits: training starts from the plain mean.
            historyWeights = EmbeddingTable(count: architecture.item.count, dimension: 1, scale: 0, seed: 0)
        }
    }

    /// ID embeddings only.
    public init(userCount: Int, itemCount: Int, dimension: Int, seed: UInt64) {
        self.init(architecture: .idOnly(users: userCount, items: itemCount, dimension: dimension), seed: seed)
    }

    public var dimension: Int { architecture.user.dimension }
    public var historyLength: Int { architecture.history?.length ?? 0 }

    /// The table and row mapping the history encoder reads.
    func historySource() -> (table: EmbeddingTable, rows: (Int32) -> Int32)? {
        guard let history = architecture.history else { return nil }
        if history.shared { let item = item; return (item.ids, { item.row(of: $0) }) }
        let count = architecture.item.count
        return (historyTable!, { $0 >= 0 && Int($0) < count ? $0 : -1 })
    }

    /// The pooled history of each row of a user batch, or nil without a history encoder.
    func pooledHistory(_ batch: TowerBatch) -> Matrix? {
        historySource().map { HistoryEncoder.forward(batch.histories, table: $0.table, rows: $0.rows, weights: historyWeights) }
    }

    /// Normalised user embeddings for a batch.
    public func users(_ batch: TowerBatch) -> Matrix { user(batch, added: pooledHistory(batch)) }

    /// Normalised item embeddings for a batch.
    public func items(_ batch: TowerBatch) -> Matrix { item(batch) }

    /// Normalised embeddings of every known user (one row per dense id), in blocks.
    public func userEmbeddings(_ inputs: ModelInputs = .none) -> Matrix {
        embedAll(count: architecture.user.count) { users(inputs.userBatch($0, historyLength: historyLength)) }
    }

    /// Normalised embeddings of every known item.
    public func itemEmbeddings(_ inputs: ModelInputs = .none) -> Matrix {
        embedAll(count: architecture.item.count) { items(inputs.itemBatch($0)) }
    }

    /// Embeds ids 0..<count in blocks, the blocks spread over every core (each block is
    /// independent, so the result does not depend on the thread count).
    private func embedAll(count: Int, block: Int = 2048, _ embed: @Sendable ([Int32]) -> Matrix) -> Matrix {
        let blocks = (count + block - 1) / block
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, blocks))
        let saved = BLAS.threads
        if threads > 1 { BLAS.threads = 1 }
        defer { if threads > 1 { BLAS.threads = saved } }
        let d = dimension
        let parts = Parallel.map(parts: threads) { t -> [Float] in
            var values: [Float] = []
            for b in stride(from: t, to: blocks, by: threads) {
                let start = b * block, end = min(start + block, count)
                values += embed((start..<end).map { Int32($0) }).values
            }
            return values
        }
        var out = Matrix(rows: count, cols: d)
        var offsets = [Int](repeating: 0, count: threads)
        for b in 0..<blocks {
            let t = b % threads, start = b * block, end = min(start + block, count)
            let n = (end - start) * d
            out.values.replaceSubrange((start * d)..<(end * d), with: parts[t][offsets[t]..<(offsets[t] + n)])
            offsets[t] += n
        }
        return out
    }

    /// Every parameter matrix in checkpoint order: user ids, user tokens, item ids, item tokens,
    /// history table, history weights, user dense, item dense (absent parts skipped).
    public var parameters: [Matrix] {
        get {
            [user.ids.weights] + (user.tokens.map { [$0.weights] } ?? []) + [item.ids.weights] + (item.tokens.map { [$0.weights] } ?? [])
                + (historyTable.map { [$0.weights] } ?? []) + (historyWeights.map { [$0.weights] } ?? [])
                + user.denseParameters + item.denseParameters
        }
        set {
            var rest = newValue[...]
            user.ids = EmbeddingTable(weights: rest.removeFirst())
            if user.tokens != nil { user.tokens = EmbeddingTable(weights: rest.removeFirst()) }
            item.ids = EmbeddingTable(weights: rest.removeFirst())
            if item.tokens != nil { item.tokens = EmbeddingTable(weights: rest.removeFirst()) }
            if historyTable != nil { historyTable = EmbeddingTable(weights: rest.removeFirst()) }
            if historyWeights != nil { historyWeights = EmbeddingTable(weights: rest.removeFirst()) }
            let userDense = user.denseParameters.count
            user.denseParameters = Array(rest.prefix(userDense))
            item.denseParameters = Array(rest.dropFirst(userDense))
        }
    }
}

/// An entity the model cannot embed: newer than the model, and nothing (history, features) to
/// embed it from. Never answered with a zero vector ranked as if it meant something.
public struct ColdEntityError: Error, CustomStringConvertible, Equatable {
    public let what: String
    public let reason: String

    public init(what: String, reason: String) {
        self.what = what
        self.reason = reason
    }

    public var description: String { "the \(what) cannot be embedded: \(reason)" }
}

extension TwoTowerModel {
    /// The embedding of the one user of `batch`, by one rule for offline commands and the daemon:
    /// a user the model was trained on is embedded as always; a newer one (an id past the
    /// model's unhashed table) is embedded from their history and features, like any cold user,
    /// when the model has a history encoder or user features and the user has some; otherwise,
    /// or when the result is a zero vector, there is nothing meaningful to rank by.
    /// - Throws: `ColdEntityError` saying why.
    /// - Parameter hasFeatures: whether the user has any feature values (nil: inferred from the
    ///   batch, where a missing numeric value reads as 0, the mean).
    public func userVector(_ batch: TowerBatch, hasFeatures given: Bool? = nil) throws -> [Float] {
        let a = architecture
        let id = batch.ids.first ?? -1
        let known = id >= 0 && (a.user.idBuckets > 0 || Int(id) < a.user.count)
        let hasHistory = a.history != nil && !(batch.histories.first ?? []).isEmpty
        let readsFeatures = a.user.tokenRows > 0 || !a.user.numeric.isEmpty
        let present = given ?? (!(batch.tokens.first ?? []).isEmpty || batch.numeric.values.contains { $0 != 0 })
        let hasFeatures = readsFeatures && present
        guard known || hasHistory || hasFeatures else {
            throw ColdEntityError(what: "user", reason: a.history == nil && !readsFeatures
                ? "it is newer than the model, which has neither a history encoder nor user features (train again to include it)"
                : "it is newer than the model and has no history or features yet")
        }
        let vector = Array(users(batch).row(0))
        guard vector.contains(where: { $0 != 0 }) else {
            throw ColdEntityError(what: "user", reason: "the model gives it a zero vector (no history, features or id row)")
        }
        return vector
    }
}
