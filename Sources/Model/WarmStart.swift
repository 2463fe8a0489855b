import LinearAlgebra

/// Why a checkpoint cannot start a training run of another shape.
public struct WarmStartError: Error, CustomStringConvertible {
    public let description: String
}

extension TwoTowerModel {
    /// A model of `architecture` (the shape the configuration gives on today's store) that starts
    /// from `old`: users, items and feature tokens `old` knows keep their rows (dense ids and token
    /// ids never change in a store), newer ones get fresh rows drawn from `seed`, and the dense
    /// layers are `old`'s. The towers must agree on everything but their counts: dimension,
    /// features, hashing, MLP, history encoder. Numeric features keep `old`'s standardisation, so
    /// its numeric layer still reads what it learned to read.
    /// - Throws: `WarmStartError` naming the first difference.
    public static func warmStarted(from old: TwoTowerModel, architecture new: ModelArchitecture, seed: UInt64) throws -> TwoTowerModel {
        var target = new
        func check(_ a: TowerSpec, _ b: inout TowerSpec, _ name: String) throws {
            func differ(_ what: String, _ was: Any, _ now: Any) -> WarmStartError {
                WarmStartError(description: "the \(name) tower's \(what) is \(now) now but \(was) in the checkpoint; warm starts keep the architecture")
            }
            guard a.dimension == b.dimension else { throw differ("dimension", a.dimension, b.dimension) }
            guard a.idBuckets == b.idBuckets else { throw differ("id buckets", a.idBuckets, b.idBuckets) }
            guard a.tokenFeatures == b.tokenFeatures else { throw differ("token features", a.tokenFeatures, b.tokenFeatures) }
            guard a.numeric.map(\.name) == b.numeric.map(\.name) else { throw differ("numeric features", a.numeric.map(\.name), b.numeric.map(\.name)) }
            guard a.mlp == b.mlp else { throw differ("MLP", String(describing: a.mlp), String(describing: b.mlp)) }
            guard a.idInitScale == b.idInitScale else { throw differ("id initialisation", a.idInitScale ?? 0.1, b.idInitScale ?? 0.1) }
            guard b.count >= a.count else { throw differ("count", a.count, b.count) }
            b.numeric = a.numeric
            b.tokenRows = max(a.tokenRows, b.tokenRows)
        }
        try check(old.architecture.user, &target.user, "user")
        try check(old.architecture.item, &target.item, "item")
        guard old.architecture.history == new.history else {
            func text(_ h: HistorySpec?) -> String {
                guard let h else { return "off (history_length 0)" }
                return "history_length \(h.length), \(h.shared ? "shared" : "own") table\(h.hasLearnedWeights ? ", learned weights" : "")"
            }
            throw WarmStartError(description: "the history encoder is \(text(new.history)) in the configuration but \(text(old.architecture.history)) in the checkpoint")
        }
        var model = TwoTowerModel(architecture: target, seed: seed)
        func copyRows(_ from: EmbeddingTable?, _ to: inout EmbeddingTable?) {
            guard let from, var table = to else { return }
            let rows = min(from.count, table.count), d = table.dimension
            table.weights.values.replaceSubrange(0..<(rows * d), with: from.weights.values[0..<(rows * d)])
            to = table
        }
        var userIDs: EmbeddingTable? = model.user.ids, itemIDs: EmbeddingTable? = model.item.ids
        copyRows(old.user.ids, &userIDs)
        copyRows(old.item.ids, &itemIDs)
        model.user.ids = userIDs!
        model.item.ids = itemIDs!
        copyRows(old.user.tokens, &model.user.tokens)
        copyRows(old.item.tokens, &model.item.tokens)
        copyRows(old.historyTable, &model.historyTable)
        copyRows(old.historyWeights, &model.historyWeights)
        model.user.denseParameters = old.user.denseParameters
        model.item.denseParameters = old.item.denseParameters
        return model
    }
}
