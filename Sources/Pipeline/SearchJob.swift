import Foundation
import ModelStore
import Store
import VectorIndex

/// `twotower search`: the top k of an index for one query. Ids a user types or reads are the
/// store's raw ids whenever a store is given (as over HTTP); without one, the index's own ids.
public struct SearchJob {
    public enum Query: Sendable {
        /// A vector given in full.
        case vector([Float])
        /// Row `row` of a .npy/.fvecs file.
        case fileRow(path: String, row: Int)
        /// The neighbours of an item by its raw id (needs the store); the item itself excluded.
        case item(String)
        /// The neighbours of the vector stored under an index id (a row number for indexes built
        /// from `embed --items`); that id excluded.
        case indexID(Int64)
        /// A user through a model: their embedding, their known items excluded (needs store and model).
        case user(String)
    }

    public var index: String
    public var query: Query
    public var store: String?
    public var model: String?
    public var k = 10
    /// nil: the index's calibrated nprobe (or its build default).
    public var nprobe: Int?
    /// Ids never returned: raw ids with a store, index ids without.
    public var exclude: [String] = []

    public init(index: String, query: Query) {
        self.index = index
        self.query = query
    }

    public struct Row: Encodable, Sendable {
        public var id: String
        public var score: Float
    }

    public struct Outcome: Sendable {
        public var rows: [Row]
        /// Index ids the store has no row for (skipped, not printed as "?").
        public var unnamed: [Int64]
        public var nprobe: Int
    }

    public func run() throws -> Outcome {
        let opened = try IVFIndex(path: index)
        let store = try self.store.map { try InteractionStore(path: $0, create: false) }
        var parameters = SearchParameters(k: k, nprobe: nprobe ?? opened.metadata.defaultNprobe)
        func dense(_ raw: String, _ entity: Entity) throws -> Int {
            guard let store else { throw JobError("--\(entity.rawValue) takes a raw id and needs --store to look it up") }
            guard let id = try store.denseID(of: entity, raw: raw) else { throw JobError("no \(entity.rawValue) '\(raw)' in \(self.store!)") }
            return id
        }
        for raw in exclude {
            if store != nil { parameters.exclude.insert(Int64(try dense(raw, .item))) } else {
                guard let id = Int64(raw) else { throw JobError("--exclude: '\(raw)' is not an index id (give --store to exclude raw ids)") }
                parameters.exclude.insert(id)
            }
        }
        let vector: [Float]
        switch query {
        case .vector(let v): vector = v
        case let .fileRow(path, row):
            let m = try VectorFile.readMatrix(path)
            guard (0..<m.rows).contains(row) else { throw JobError("--row \(row) is outside \(path)'s \(m.rows) rows") }
            vector = Array(m.row(row))
        case .item(let raw):
            let id = Int64(try dense(raw, .item))
            vector = try stored(opened, id, "item '\(raw)'")
            parameters.exclude.insert(id)
        case .indexID(let id):
            vector = try stored(opened, id, "index id \(id)")
            parameters.exclude.insert(id)
        case .user(let raw):
            guard let model, let store else { throw JobError("--user needs --model and --store") }
            let user = try dense(raw, .user)
            let loaded = try LoadedModel.load(model, store: store)
            vector = try loaded.userEmbedding(dense: user)
            try store.forEachInteraction(split: loaded.info.split, parts: SplitPart.test.knownBefore) { u, i in
                if u == user { parameters.exclude.insert(Int64(i)) }
            }
        }
        var rows: [Row] = [], unnamed: [Int64] = []
        for n in try opened.search(vector, parameters: parameters) {
            guard let store else { rows.append(Row(id: "\(n.id)", score: n.score)); continue }
            if let name = try store.rawID(of: .item, dense: Int(n.id)) { rows.append(Row(id: name, score: n.score)) } else { unnamed.append(n.id) }
        }
        return Outcome(rows: rows, unnamed: unnamed, nprobe: parameters.nprobe)
    }

    private func stored(_ index: IVFIndex, _ id: Int64, _ what: String) throws -> [Float] {
        do { return try index.vector(id: id) } catch IndexError.unknownID { throw JobError("\(what) is not in the index \(self.index)") }
    }
}
