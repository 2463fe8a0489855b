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
    /// SQ8 indexes: re-ranked candidates as a multiple of k.
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

/// A side-feature value in a request body: a number, a category, or a list of tags.
public enum FeatureInput: Sendable, Equatable {
    case number(Double)
    case token(String)
    case tokens([String])
}

/// The work behind the routes, on one snapshot and one store connection: online user
/// embeddings (current features and latest history from the store), index probes, raw-id
/// mapping, item updates. Runs on a worker thread; knows nothing of HTTP but its errors.
struct Recommender {
    let snapshot: ServingSnapshot
    let store: InteractionStore
    let itemNames: ItemNames

    var model: TwoTowerModel { snapshot.model }

    // MARK: Queries

    func recommend(user raw: String, options: QueryOptions) throws -> [ScoredItem] {
        guard let dense = try store.denseID(of: .user, raw: raw) else { throw APIError.notFound("unknown user '\(raw)'", field: "id") }
        let history = model.historyLength > 0 ? try store.recentItems(of: dense, limit: model.historyLength).map(Int32.init) : []
        let features = try ModelData.features(store: store, entity: .user, spec: model.architecture.user, only: dense, count: 1)
        let id = dense < model.architecture.user.count ? Int32(dense) : -1
        let vector = embedUser(TowerBatch(ids: [id], tokens: features?.tokens, numeric: features?.numeric, histories: [history]))
        let seen = options.excludeSeen ? Set(try store.interactedItems(of: dense).map(Int64.init)) : []
        return try search(vector, options: options, exclude: seen)
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
            vector = embedUser(TowerBatch(ids: [-1], tokens: [encoded.tokens], numeric: encoded.numeric,
                                          histories: [Array(recent.suffix(max(model.historyLength, 0)))]))
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

    private func embedUser(_ batch: TowerBatch) -> [Float] { Array(model.users(batch).row(0)) }

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
        return try snapshot.index.search(vector, parameters: parameters).map { n in
            ScoredItem(id: try itemNames.name(of: Int(n.id), store: store) ?? "\(n.id)", score: n.score)
        }
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
            let encoded = try encode(features ?? [:], entity: .item, spec: model.architecture.item)
            let id = existing.map { $0 < model.architecture.item.count ? Int32($0) : -1 } ?? -1
            embedding = Array(model.items(TowerBatch(ids: [id], tokens: [encoded.tokens], numeric: encoded.numeric)).row(0))
        }
        let dense = try existing ?? store.connection.transaction { try StoreWriter(store: store).id(of: .item, raw: raw) }
        try snapshot.index.upsert(ids: [Int64(dense)], vectors: Matrix(rows: 1, cols: embedding.count, values: embedding))
        return (dense, existing == nil)
    }

    func delete(item raw: String) throws {
        guard let dense = try store.denseID(of: .item, raw: raw) else { throw APIError.notFound("unknown item '\(raw)'", field: "id") }
        let report = try snapshot.index.delete(ids: [Int64(dense)])
        if report.deleted == 0 { throw APIError.notFound("item '\(raw)' is not in the index", field: "id") }
    }

    // MARK: Features

    /// Encodes request features for one entity the way training encoded stored ones: tokens
    /// pooled per feature, numeric values standardised with the model's statistics.
    private func encode(_ features: [String: FeatureInput], entity: Entity, spec: TowerSpec) throws -> (tokens: [TokenWeight], numeric: Matrix) {
        var values: [FeatureValue] = []
        for name in features.keys.sorted() {
            let field = "features.\(name)"
            guard let kind = try store.featureKind(of: entity, name: name) else {
                throw APIError.badRequest("unknown \(entity.rawValue) feature '\(name)'", field: field)
            }
            switch (kind, features[name]!) {
            case (.numeric, .number(let x)):
                values.append(FeatureValue(entity: 0, feature: name, isNumeric: true, token: 0, value: Float(x)))
            case (.categorical, .token(let t)), (.multihot, .token(let t)):
                // An unseen category adds nothing: the model has no embedding for it.
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
                throw APIError.badRequest("\(name) is a \(kind.rawValue) feature: expected "
                                          + (kind == .numeric ? "a number" : kind == .categorical ? "a string" : "a string or a list of strings"),
                                          field: field)
            }
        }
        let encoded = EntityFeatures(count: 1, values: values, numericFeatures: spec.numeric)
        return (spec.tokenRows > 0 ? encoded.tokens[0] : [], encoded.numeric)
    }
}
