import Foundation
import LinearAlgebra
import Model
import ModelStore
import Store
import VectorIndex

/// One recommended item.
public struct ScoredItem: Codable, Sendable, Equatable {
    public var id: String
    public var score: Float
}

/// The answer of every top-K route.
public struct TopKResponse: Codable, Sendable {
    public var items: [ScoredItem]
    public var modelVersion: String
    public var indexVersion: String
    public var tookMs: Double
}

/// What a top-K query asks for, already validated.
public struct QueryOptions: Sendable {
    public var k: Int
    public var nprobe: Int
    public var excludeSeen = true
    /// SQ8 and PQ indexes: re-ranked candidates as a multiple of k.
    public var rerankFactor = SearchParameters().rerankFactor
    /// Keep only items carrying this token of an item feature (`genres:Comedy`).
    public var filter: (feature: String, token: String)?

    public init(k: Int, nprobe: Int, excludeSeen: Bool = true, filter: (feature: String, token: String)? = nil) {
        self.k = k
        self.nprobe = nprobe
        self.excludeSeen = excludeSeen
        self.filter = filter
    }
}

/// The work behind the routes, on one snapshot and one store connection: online user
/// embeddings (current features and latest history from the store), index probes, raw-id
/// mapping, item updates. Runs on a worker thread; knows nothing of HTTP but its errors.
struct Recommender {
    let snapshot: ServingSnapshot
    let store: InteractionStore
    let itemNames: ItemNames
    /// Events accepted but not yet in the store.
    let pending: PendingEvents

    var model: TwoTowerModel { snapshot.model }

    // MARK: Queries

    func recommend(user raw: String, options: QueryOptions) throws -> [ScoredItem] {
        let (dense, recent) = try user(raw)
        let vector = try userVector(dense, pending: recent)
        let seen = options.excludeSeen ? try Self.seenItems(dense: dense, pending: recent, store: store) : []
        return try search(vector, options: options, exclude: seen)
    }

    /// The items a user has interacted with (dense ids, as the index's exclusions take them):
    /// stored, and accepted but not yet merged.
    static func seenItems(dense: Int?, pending: [PendingEvents.Event], store: InteractionStore) throws -> Set<Int64> {
        var seen = Set<Int64>()
        if let dense { seen = Set(try store.interactedItems(of: dense).map(Int64.init)) }
        for e in pending { seen.insert(Int64(e.item)) }
        return seen
    }

    /// A user's embedding as the recommendations route computes it (stored features and
    /// history, and the events accepted but not yet merged into the store), with the daemon's
    /// error for a user the model cannot embed (409 `cold_user`); the router embeds its users
    /// the same way.
    static func userVector(store: InteractionStore, model: TwoTowerModel, dense: Int?,
                           pending: [PendingEvents.Event] = []) throws -> [Float] {
        do {
            return try OnlineInputs.userVector(store: store, model: model, dense: dense, pending: pending.map { ($0.item, $0.timestamp) })
        } catch let error as ColdEntityError {
            throw APIError(.conflict, code: "cold_user", "\(error)", field: "id")
        }
    }

    private func userVector(_ dense: Int?, pending: [PendingEvents.Event]) throws -> [Float] {
        try Self.userVector(store: store, model: model, dense: dense, pending: pending)
    }

    func userEmbedding(user raw: String) throws -> [Float] {
        let (dense, recent) = try user(raw)
        return try userVector(dense, pending: recent)
    }

    private func user(_ raw: String) throws -> (dense: Int?, pending: [PendingEvents.Event]) {
        try Self.user(raw, store: store, pending: pending)
    }

    /// The user's dense id (nil for a user known only from pending events) and pending events,
    /// read in that order: pending first, then the store (a merge commits before it drops).
    static func user(_ raw: String, store: InteractionStore, pending: PendingEvents) throws -> (dense: Int?, pending: [PendingEvents.Event]) {
        let recent = pending.events(of: raw)
        let dense = try store.denseID(of: .user, raw: raw)
        if dense == nil && recent.isEmpty { throw APIError.notFound("unknown user '\(raw)'", field: "id") }
        return (dense, recent)
    }

    func recommend(features: [String: FeatureInput], recentItems: [String], options: QueryOptions) throws -> [ScoredItem] {
        var recent: [Int32] = []
        for (n, raw) in recentItems.enumerated() {
            guard let dense = try store.denseID(of: .item, raw: raw) else {
                throw APIError.notFound("unknown item '\(raw)'", field: "recent_items[\(n)]")
            }
            recent.append(Int32(dense))
        }
        let encoded = try encode(features, entity: .user, spec: model.architecture.user)
        let spec = model.architecture.user
        let towerReadsFeatures = (spec.tokenRows > 0 && !encoded.tokens.isEmpty) || (!spec.numeric.isEmpty && !features.isEmpty)
        var vector: [Float]
        if model.historyLength > 0 || towerReadsFeatures {
            let batch = TowerBatch(ids: [-1], tokens: [encoded.tokens], numeric: encoded.numeric,
                                   histories: [Array(recent.suffix(max(model.historyLength, 0)))])
            do { vector = try model.userVector(batch) } catch let error as ColdEntityError {
                throw APIError.badRequest("\(error)", field: "body")
            }
        } else if !recent.isEmpty {
            // A model without a history encoder or user features cannot embed an unknown user:
            // fall back to the mean of the recent items' vectors (item-to-item retrieval).
            vector = [Float](repeating: 0, count: snapshot.index.dimension)
            var found = 0
            for item in recent {
                guard let v = try? snapshot.index.vector(id: Int64(item)) else { continue }
                for j in vector.indices { vector[j] += v[j] }
                found += 1
            }
            guard found > 0 else { throw APIError.notFound("none of recent_items is in the index", field: "recent_items") }
        } else {
            throw APIError.badRequest("this model reads no user features and has no history encoder: give recent_items", field: "features")
        }
        return try search(vector, options: options, exclude: Set(recent.map(Int64.init)))
    }

    func similar(item raw: String, options: QueryOptions) throws -> [ScoredItem] {
        guard let dense = try store.denseID(of: .item, raw: raw) else { throw APIError.notFound("unknown item '\(raw)'", field: "id") }
        let vector: [Float]
        do {
            vector = try snapshot.index.vector(id: Int64(dense))
        } catch IndexError.unknownID {
            throw APIError.notFound("item '\(raw)' is not in the index", field: "id")
        }
        return try search(vector, options: options, exclude: [Int64(dense)])
    }

    /// The index's top k for a vector given in full (`POST /v1/search`: what a router sends each
    /// shard), leaving out the items named in `exclude` (raw ids; ones the store lacks are ignored).
    func search(vector: [Float], exclude raw: [String], options: QueryOptions) throws -> [ScoredItem] {
        guard vector.count == snapshot.index.dimension else {
            throw APIError.badRequest("vector has \(vector.count) numbers; the index holds \(snapshot.index.dimension)-dimensional vectors", field: "vector")
        }
        guard vector.allSatisfy(\.isFinite) else { throw APIError.badRequest("vector holds a number that is not finite", field: "vector") }
        var exclude = Set<Int64>()
        for id in raw { if let dense = try store.denseID(of: .item, raw: id) { exclude.insert(Int64(dense)) } }
        return try search(vector, options: options, exclude: exclude)
    }

    private func search(_ vector: [Float], options: QueryOptions, exclude: Set<Int64>) throws -> [ScoredItem] {
        var parameters = SearchParameters(k: options.k, nprobe: options.nprobe)
        parameters.exclude = exclude
        parameters.rerankFactor = options.rerankFactor
        if let filter = options.filter {
            guard try store.featureKind(of: .item, name: filter.feature) != nil else {
                throw APIError.badRequest("unknown item feature '\(filter.feature)'", field: "filter")
            }
            guard let token = try store.tokenID(of: .item, feature: filter.feature, token: filter.token) else {
                throw APIError.badRequest("no item has \(filter.feature) '\(filter.token)'", field: "filter")
            }
            let allowed = try store.entitySet(of: .item, withToken: token)
            parameters.allow = { allowed.contains(Int($0)) }
        }
        var items: [ScoredItem] = []
        for n in try snapshot.index.search(vector, parameters: parameters) {
            // An index id the store has no item for (added with `update-index --ids`) is skipped:
            // an answer names items, never bare index ids.
            if let name = try itemNames.name(of: Int(n.id), store: store) { items.append(ScoredItem(id: name, score: n.score)) }
        }
        return items
    }

    // MARK: Item updates

    /// Puts an item into the current index: its vector as given, or its item-tower embedding of
    /// the given features (plus its id embedding when the model knows it). New raw ids are added
    /// to the store so results can name them.
    func upsert(item raw: String, vector: [Float]?, features: [String: FeatureInput]?) throws -> (dense: Int, created: Bool) {
        let existing = try store.denseID(of: .item, raw: raw)
        var embedding: [Float]
        if let vector {
            guard vector.count == snapshot.index.dimension else {
                throw APIError.badRequest("vector has \(vector.count) values; the index holds \(snapshot.index.dimension)", field: "vector")
            }
            guard vector.allSatisfy(\.isFinite) else { throw APIError.badRequest("vector has a non-finite value", field: "vector") }
            embedding = vector
        } else {
            let spec = model.architecture.item
            let knownID = existing.map { spec.idBuckets > 0 || $0 < spec.count } ?? false
            guard spec.tokenRows > 0 || !spec.numeric.isEmpty || knownID else {
                throw APIError.badRequest("this model has no item features to embed an item from; give its vector", field: "features")
            }
            let encoded = try encode(features ?? [:], entity: .item, spec: spec)
            let id = existing.map { knownID ? Int32($0) : -1 } ?? -1
            embedding = Array(model.items(TowerBatch(ids: [id], tokens: [encoded.tokens], numeric: encoded.numeric)).row(0))
            guard embedding.contains(where: { $0 != 0 }) else {
                throw APIError.badRequest("these features give the item a zero vector (none of them is known to the model)", field: "features")
            }
        }
        let (dense, created) = try store.ensure(.item, raw: raw)
        try snapshot.index.upsert(ids: [Int64(dense)], vectors: Matrix(rows: 1, cols: embedding.count, values: embedding))
        return (dense, created)
    }

    func delete(item raw: String) throws {
        guard let dense = try store.denseID(of: .item, raw: raw) else { throw APIError.notFound("unknown item '\(raw)'", field: "id") }
        let report = try snapshot.index.delete(ids: [Int64(dense)])
        if report.deleted == 0 { throw APIError.notFound("item '\(raw)' is not in the index", field: "id") }
    }

    /// Request features encoded as training encoded stored ones (`OnlineInputs.givenFeatures`).
    private func encode(_ features: [String: FeatureInput], entity: Entity, spec: TowerSpec) throws -> (tokens: [TokenWeight], numeric: Matrix) {
        do {
            return try OnlineInputs.givenFeatures(features, store: store, entity: entity, spec: spec)
        } catch let error as FeatureInputError {
            throw APIError.badRequest(error.description, field: "features.\(error.feature)")
        }
    }
}
