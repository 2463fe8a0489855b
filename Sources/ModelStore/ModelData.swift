import Settings
import Foundation
import LinearAlgebra
import Model
import Store

/// The bridge between the store and the model: the architecture a configuration asks for on a
/// given store, and the inputs (features, histories) a model reads, taken from the store.
public enum ModelData {
    /// Each user's training items of `split`, oldest first.
    public static func trainingHistories(store: InteractionStore, split: String, users: Int) throws -> [[Int32]] {
        try histories(store: store, split: split, before: .validation, users: users)
    }

    /// Each user's items known before `part` of `split` is held out, oldest first: the train part
    /// before validation, train and validation before test.
    public static func histories(store: InteractionStore, split: String, before part: SplitPart, users: Int) throws -> [[Int32]] {
        var histories = [[Int32]](repeating: [], count: users)
        try store.forEachInteraction(split: split, parts: part.knownBefore) { u, i in histories[u].append(Int32(i)) }
        return histories
    }

    /// The architecture of `config` for the users, items and features of `store`.
    public static func architecture(config c: TrainingConfig, store: InteractionStore) throws -> ModelArchitecture {
        let users = try store.count("users"), items = try store.count("items")
        let mlp = c.mlpHidden.isEmpty ? nil
            : MLPSpec(hidden: c.mlpHidden, activation: c.mlpActivation, layerNorm: c.layerNorm,
                      dropout: Float(c.dropout), residual: c.residual)
        func tower(_ entity: Entity, count: Int, buckets: Int, features: Bool) throws -> TowerSpec {
            var spec = TowerSpec(count: count, dimension: c.embeddingDimension, idBuckets: buckets, mlp: mlp)
            if c.idInitScale != 0.1 { spec.idInitScale = Float(c.idInitScale) }
            guard features else { return spec }
            let definitions = try store.featureDefinitions(of: entity)
            spec.tokenFeatures = definitions.filter { $0.kind != .numeric }.map(\.name)
            if !spec.tokenFeatures.isEmpty { spec.tokenRows = try store.tokenRows() }
            var numeric: [String: [Float]] = [:]
            for d in definitions where d.kind == .numeric { numeric[d.name] = [] }
            if !numeric.isEmpty {
                try store.forEachFeature(of: entity) { f in if f.kind == .numeric { numeric[f.name]?.append(Float(f.value)) } }
                spec.numeric = numeric.keys.sorted().map { NumericFeature.fit(name: $0, values: numeric[$0]!) }
            }
            return spec
        }
        return ModelArchitecture(user: try tower(.user, count: users, buckets: c.userIdBuckets, features: c.userFeatures),
                                 item: try tower(.item, count: items, buckets: c.itemIdBuckets, features: c.itemFeatures),
                                 history: c.historyLength > 0 ? HistorySpec(length: c.historyLength, shared: c.historyShared,
                                                                                 learnedWeights: c.historyPooling == .learned) : nil)
    }

    /// Encoded features of every entity of one side, for a tower spec (nil when it reads none).
    public static func features(store: InteractionStore, entity: Entity, spec: TowerSpec, only: Int? = nil, count: Int? = nil) throws -> EntityFeatures? {
        guard spec.tokenRows > 0 || !spec.numeric.isEmpty else { return nil }
        var values: [FeatureValue] = []
        let offset = only ?? 0
        try store.forEachFeature(of: entity, only: only) { f in
            values.append(FeatureValue(entity: f.entity - offset, feature: f.name, isNumeric: f.kind == .numeric,
                                       token: Int32(f.token), value: Float(f.value)))
        }
        return EntityFeatures(count: count ?? spec.count, values: values, numericFeatures: spec.numeric)
    }

    /// Everything a model reads for offline inference over a split: features and the users'
    /// histories — given, or the items known before `part` (empty for a model without history).
    public static func inputs(store: InteractionStore, architecture a: ModelArchitecture, split: String,
                       histories: [[Int32]]? = nil, before part: SplitPart = .validation) throws -> ModelInputs {
        // Entities the store gained after training keep their features and histories too: the
        // model can embed them from those (an unhashed id table has no row for them).
        let users = max(a.user.count, try store.count("users")), items = max(a.item.count, try store.count("items"))
        return ModelInputs(userFeatures: try features(store: store, entity: .user, spec: a.user, count: users),
                    itemFeatures: try features(store: store, entity: .item, spec: a.item, count: items),
                    histories: a.history == nil ? (histories ?? [])
                        : try histories ?? Self.histories(store: store, split: split, before: part, users: users))
    }
}

/// A checkpoint with the inputs it needs from its store, ready to embed users and items.
public struct LoadedModel: Sendable {
    public let model: TwoTowerModel
    public let info: CheckpointInfo
    public let inputs: ModelInputs

    /// Loads `path`; features and histories come from `store` (default: the store it was
    /// trained on) and `split` (default: the checkpoint's split). Histories hold what is known
    /// before `heldOut`: for the test part (the default, as for serving-like offline use) the
    /// train and validation parts, for the validation part the train part alone. `histories`, when
    /// given (e.g. an evaluation's masked lists, which are the same), are used instead of reading them.
    public static func load(_ path: String, store: InteractionStore? = nil, split: String? = nil,
                            heldOut: SplitPart = .test, histories: [[Int32]]? = nil) throws -> LoadedModel {
        let (model, info) = try Checkpoint.load(from: path)
        let a = model.architecture
        let needsStore = a.history != nil || a.user.tokenRows > 0 || a.item.tokenRows > 0 || !a.user.numeric.isEmpty || !a.item.numeric.isEmpty
        guard needsStore else { return LoadedModel(model: model, info: info, inputs: .none) }
        let opened = try store ?? InteractionStore(path: info.store, create: false)
        return LoadedModel(model: model, info: info, inputs: try ModelData.inputs(store: opened, architecture: a, split: split ?? info.split,
                                                                                   histories: histories, before: heldOut))
    }

    public var userCount: Int { model.architecture.user.count }
    public var itemCount: Int { model.architecture.item.count }
    public func userEmbeddings() -> Matrix { model.userEmbeddings(inputs) }
    public func itemEmbeddings() -> Matrix { model.itemEmbeddings(inputs) }

    /// The embedding of one user of the store, from the inputs' history and features, by the
    /// model's rule for users it may not know (`TwoTowerModel.userVector`).
    /// - Throws: `ColdEntityError` when the model cannot embed the user.
    public func userEmbedding(dense user: Int) throws -> [Float] {
        try model.userVector(inputs.userBatch([Int32(user)], historyLength: model.historyLength))
    }
}
