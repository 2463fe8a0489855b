import LinearAlgebra
import Model
import Store

/// A side-feature value given in a request: a number, a category, or a list of tags.
public enum FeatureInput: Sendable, Equatable {
    case number(Double)
    case token(String)
    case tokens([String])
}

/// Why given features could not be encoded; `feature` names the bad key.
public enum FeatureInputError: Error, CustomStringConvertible {
    case unknown(entity: Entity, feature: String)
    case wrongKind(feature: String, kind: FeatureKind)

    public var feature: String {
        switch self {
        case .unknown(_, let f), .wrongKind(let f, _): f
        }
    }

    public var description: String {
        switch self {
        case let .unknown(entity, feature): "unknown \(entity.rawValue) feature '\(feature)'"
        case let .wrongKind(feature, kind):
            "\(feature) is a \(kind.rawValue) feature: expected " + (kind == .numeric ? "a number" : kind == .categorical ? "a string" : "a string or a list of strings")
        }
    }
}

/// What a tower reads for one entity at serving time, read from the store as it is now (the
/// current features, the latest history) or taken from a request: the one encoding the daemon,
/// `search --user` and the cold-start route share with training (`EntityFeatures`).
public enum OnlineInputs {
    /// The encoded features of `values` for a tower (empty when the tower reads none).
    public static func encode(_ values: [FeatureValue], spec: TowerSpec) -> (tokens: [TokenWeight], numeric: Matrix) {
        let encoded = EntityFeatures(count: 1, values: values, numericFeatures: spec.numeric)
        return (spec.tokenRows > 0 ? encoded.tokens[0] : [], encoded.numeric)
    }

    /// The stored features of entity `dense`, encoded, and how many values the store has for it.
    public static func storedFeatures(store: InteractionStore, entity: Entity, dense: Int,
                                      spec: TowerSpec) throws -> (tokens: [TokenWeight], numeric: Matrix, values: Int) {
        guard spec.tokenRows > 0 || !spec.numeric.isEmpty else { return ([], Matrix(rows: 1, cols: spec.numeric.count), 0) }
        var values: [FeatureValue] = []
        try store.forEachFeature(of: entity, only: dense) { f in
            values.append(FeatureValue(entity: 0, feature: f.name, isNumeric: f.kind == .numeric, token: Int32(f.token), value: Float(f.value)))
        }
        let encoded = encode(values, spec: spec)
        return (encoded.tokens, encoded.numeric, values.count)
    }

    /// Request features, encoded the way training encoded stored ones: tokens pooled per
    /// feature, numeric values standardised with the model's statistics; a category the store
    /// never saw adds nothing (the model has no embedding for it).
    /// - Throws: `FeatureInputError` for a feature the store does not declare or a value of the wrong kind.
    public static func givenFeatures(_ features: [String: FeatureInput], store: InteractionStore, entity: Entity,
                                     spec: TowerSpec) throws -> (tokens: [TokenWeight], numeric: Matrix) {
        var values: [FeatureValue] = []
        for name in features.keys.sorted() {
            guard let kind = try store.featureKind(of: entity, name: name) else { throw FeatureInputError.unknown(entity: entity, feature: name) }
            switch (kind, features[name]!) {
            case (.numeric, .number(let x)):
                values.append(FeatureValue(entity: 0, feature: name, isNumeric: true, token: 0, value: Float(x)))
            case (.categorical, .token(let t)), (.multihot, .token(let t)):
                if let id = try store.tokenID(of: entity, feature: name, token: t) {
                    values.append(FeatureValue(entity: 0, feature: name, isNumeric: false, token: Int32(id), value: 1))
                }
            case (.multihot, .tokens(let ts)):
                for t in ts {
                    if let id = try store.tokenID(of: entity, feature: name, token: t) {
                        values.append(FeatureValue(entity: 0, feature: name, isNumeric: false, token: Int32(id), value: 1))
                    }
                }
            default:
                throw FeatureInputError.wrongKind(feature: name, kind: kind)
            }
        }
        return encode(values, spec: spec)
    }

    /// A user as the store holds them now: current features and the latest `history_length`
    /// items over all their interactions; and whether the store has any feature value for them.
    /// `pending` are events accepted for the user but not yet in the store (oldest first), and
    /// `dense` is nil for a user only they know.
    public static func user(store: InteractionStore, model: TwoTowerModel, dense: Int?,
                            pending: [(item: Int, timestamp: Int64)] = []) throws -> (batch: TowerBatch, hasFeatures: Bool) {
        var history: [Int32] = []
        if model.historyLength > 0 {
            let stored = try dense.map { try store.recentInteractions(of: $0, limit: model.historyLength + pending.count) } ?? []
            history = Self.history(stored: stored, pending: pending, limit: model.historyLength).map(Int32.init)
        }
        guard let dense else {
            // No stored features: encoded as a stored user without any value is.
            let none = encode([], spec: model.architecture.user)
            return (TowerBatch(ids: [-1], tokens: [none.tokens], numeric: none.numeric, histories: [history]), false)
        }
        let features = try storedFeatures(store: store, entity: .user, dense: dense, spec: model.architecture.user)
        return (TowerBatch(ids: [Int32(dense)], tokens: [features.tokens], numeric: features.numeric, histories: [history]), features.values > 0)
    }

    /// A user's latest `limit` items, oldest first, from their stored interactions (newest
    /// first, as `recentInteractions` reads them) and their pending events (oldest first), in
    /// the store's order: by time, and among equal times the later-written last, pending events
    /// being written after every stored row. A pending event the store already holds (same item
    /// and time: merged while the request ran, or a repeat of a stored interaction), or a repeat
    /// of an earlier pending one, counts once.
    /// The store was read `limit + pending.count` rows deep, so a stored copy of a pending event
    /// that would rank among the latest `limit` is always among the rows read.
    public static func history(stored: [(item: Int, timestamp: Int64?)], pending: [(item: Int, timestamp: Int64)], limit: Int) -> [Int] {
        struct Key: Hashable { var item: Int; var timestamp: Int64? }
        // A repeated event is one interaction in the store too (its first row, weight replaced).
        var known = Set(stored.map { Key(item: $0.item, timestamp: $0.timestamp) })
        var fresh: [(item: Int, timestamp: Int64, order: Int)] = []
        for (n, e) in pending.enumerated() where known.insert(Key(item: e.item, timestamp: e.timestamp)).inserted {
            fresh.append((e.item, e.timestamp, n))
        }
        // Newest first: pending by time then by arrival, merged with the stored rows (already
        // newest first); on equal times a pending event ranks first.
        fresh.sort { ($0.timestamp, $0.order) > ($1.timestamp, $1.order) }
        var out: [Int] = []
        var s = 0, p = 0
        while out.count < limit && (s < stored.count || p < fresh.count) {
            let takePending: Bool
            if p == fresh.count { takePending = false } else if s == stored.count { takePending = true } else {
                takePending = fresh[p].timestamp >= (stored[s].timestamp ?? Int64.min)
            }
            if takePending { out.append(fresh[p].item); p += 1 } else { out.append(stored[s].item); s += 1 }
        }
        return out.reversed()
    }

    /// A stored user's embedding as the daemon computes it (`TwoTowerModel.userVector`'s rule),
    /// with their pending events (see `user`).
    public static func userVector(store: InteractionStore, model: TwoTowerModel, dense: Int?,
                                  pending: [(item: Int, timestamp: Int64)] = []) throws -> [Float] {
        let (batch, hasFeatures) = try user(store: store, model: model, dense: dense, pending: pending)
        return try model.userVector(batch, hasFeatures: hasFeatures)
    }
}
