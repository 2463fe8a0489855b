import Foundation
import SQLite

/// Writes entities, interactions, features and split assignments into a store.
///
/// Used inside one `InteractionStore.connection.transaction`, so a whole ingest lands or nothing
/// does. Every write is an upsert keyed on the source's own identity (raw ids; user, item and
/// time for interactions), so writing the same input twice leaves the store as after the first.
/// Raw → dense id maps are cached in memory: memory grows with the number of users and items,
/// not with the number of interactions.
public final class StoreWriter {
    private let store: InteractionStore
    private var ids: [Entity: [String: Int]] = [.user: [:], .item: [:]]
    private var nextID: [Entity: Int] = [:]
    /// Entities this writer has created, by side.
    public private(set) var created: [Entity: Int] = [.user: 0, .item: 0]
    private let insertEntity: [Entity: Statement]
    private let selectEntity: [Entity: Statement]
    private let insertInteraction: Statement
    private let findInteraction: Statement
    private let updateWeight: Statement
    private let setLabel: Statement
    private let assignPart: Statement
    private var features: [Entity: [String: (id: Int, kind: FeatureKind)]] = [.user: [:], .item: [:]]
    private var tokens: [Int: [String: Int]] = [:]
    private let insertToken: Statement
    private let deleteFeatureRows: [Entity: Statement]
    private let insertFeatureRow: [Entity: Statement]

    public init(store: InteractionStore) throws {
        self.store = store
        let c = store.connection
        var insert: [Entity: Statement] = [:], select: [Entity: Statement] = [:]
        var deleteRows: [Entity: Statement] = [:], insertRows: [Entity: Statement] = [:]
        for entity in Entity.allCases {
            insert[entity] = try c.prepare("INSERT INTO \(entity.table)(id, raw_id) VALUES (?, ?)")
            select[entity] = try c.prepare("SELECT id FROM \(entity.table) WHERE raw_id = ?")
            deleteRows[entity] = try c.prepare("DELETE FROM \(entity.featureTable) WHERE entity = ? AND feature = ?")
            insertRows[entity] = try c.prepare(
                "INSERT OR REPLACE INTO \(entity.featureTable)(entity, feature, token, value) VALUES (?, ?, ?, ?)")
            nextID[entity] = Int(try c.scalarInt("SELECT coalesce(max(id) + 1, 0) FROM \(entity.table)") ?? 0)
        }
        insertEntity = insert
        selectEntity = select
        deleteFeatureRows = deleteRows
        insertFeatureRow = insertRows
        // INSERT OR IGNORE rather than an upsert: it needs no statement journal, which made
        // ingest three times slower. An existing row is found and updated separately.
        insertInteraction = try c.prepare("INSERT OR IGNORE INTO interactions(user, item, ts, weight) VALUES (?, ?, ?, ?)")
        findInteraction = try c.prepare("""
            SELECT id, weight IS ? FROM interactions WHERE user = ? AND item = ? AND coalesce(ts, '') = coalesce(?, '')
            """)
        updateWeight = try c.prepare("UPDATE interactions SET weight = ? WHERE id = ?")
        setLabel = try c.prepare("UPDATE items SET label = ? WHERE id = ?")
        assignPart = try c.prepare("INSERT OR REPLACE INTO split_parts(split, interaction, part) VALUES (?, ?, ?)")
        insertToken = try c.prepare("INSERT INTO feature_tokens(feature, token) VALUES (?, ?) RETURNING id")
    }

    /// The dense id for `raw`, creating the entity when it is new.
    public func id(of entity: Entity, raw: String) throws -> Int {
        if let known = ids[entity]![raw] { return known }
        let select = selectEntity[entity]!
        try select.bind([.text(raw)])
        let id: Int
        if try select.step() {
            id = select.int(0)
            try select.reset()
        } else {
            try select.reset()
            id = nextID[entity]!
            nextID[entity] = id + 1
            try insertEntity[entity]!.run(.integer(Int64(id)), .text(raw))
            created[entity]! += 1
        }
        ids[entity]![raw] = id
        return id
    }

    /// Records one interaction; returns its row id. An interaction with the same user, item and
    /// time is updated (its weight replaced), not duplicated.
    @discardableResult
    public func addInteraction(user: Int, item: Int, timestamp: Int64?, weight: Double?) throws -> Int64 {
        try recordInteraction(user: user, item: item, timestamp: timestamp, weight: weight).id
    }

    /// `addInteraction`, also saying whether the row is new (false: the store held it already).
    public func recordInteraction(user: Int, item: Int, timestamp: Int64?, weight: Double?) throws -> (id: Int64, new: Bool) {
        let ts: SQLiteValue = timestamp.map { .integer($0) } ?? .null
        let w: SQLiteValue = .double(weight)
        try insertInteraction.run(.integer(Int64(user)), .integer(Int64(item)), ts, w)
        if store.connection.changes == 1 { return (store.connection.lastInsertRowID, true) }
        // Seen before (a re-ingest, or a repeated line): keep one row, with the latest weight.
        let find = findInteraction
        try find.bind([w, .integer(Int64(user)), .integer(Int64(item)), ts])
        guard try find.step() else {
            throw SQLiteError(code: 1, message: "interaction neither inserted nor found", sql: find.sql)
        }
        let id = find.int64(0), sameWeight = find.int(1) == 1
        try find.reset()
        if !sameWeight { try updateWeight.run(w, .integer(id)) }
        return (id, false)
    }

    /// Sets an item's human-readable label (a movie title, a product name).
    public func setLabel(item: Int, label: String) throws {
        try setLabel.run(.text(label), .integer(Int64(item)))
    }

    // MARK: Features

    /// Declares a feature (idempotent) and returns its id.
    /// - Throws: `IngestConflict` when the feature exists with another kind.
    public func feature(_ entity: Entity, name: String, kind: FeatureKind) throws -> Int {
        if let known = features[entity]![name] {
            guard known.kind == kind else { throw FeatureKindConflict(entity: entity, name: name, stored: known.kind, given: kind) }
            return known.id
        }
        let c = store.connection
        let select = try c.prepare("SELECT id, kind FROM features WHERE entity = ? AND name = ?")
        try select.bind([.text(entity.rawValue), .text(name)])
        let id: Int
        if try select.step() {
            id = select.int(0)
            let stored = FeatureKind(rawValue: select.string(1)) ?? .categorical
            guard stored == kind else { throw FeatureKindConflict(entity: entity, name: name, stored: stored, given: kind) }
        } else {
            try c.prepare("INSERT INTO features(entity, name, kind) VALUES (?, ?, ?)")
                .run(.text(entity.rawValue), .text(name), .text(kind.rawValue))
            id = Int(c.lastInsertRowID)
        }
        features[entity]![name] = (id, kind)
        return id
    }

    private func tokenID(feature: Int, token: String) throws -> Int {
        if let known = tokens[feature]?[token] { return known }
        let c = store.connection
        let id: Int
        if let existing = try c.scalarInt("SELECT id FROM feature_tokens WHERE feature = ? AND token = ?",
                                          .integer(Int64(feature)), .text(token)) {
            id = Int(existing)
        } else {
            try insertToken.bind([.integer(Int64(feature)), .text(token)])
            _ = try insertToken.step()
            id = insertToken.int(0)
            try insertToken.reset()
        }
        tokens[feature, default: [:]][token] = id
        return id
    }

    /// Replaces the tokens of a categorical or multi-hot feature for one entity.
    public func setTokens(_ entity: Entity, id: Int, feature: Int, tokens values: [String]) throws {
        try deleteFeatureRows[entity]!.run(.integer(Int64(id)), .integer(Int64(feature)))
        for token in values {
            let tid = try tokenID(feature: feature, token: token)
            try insertFeatureRow[entity]!.run(.integer(Int64(id)), .integer(Int64(feature)), .integer(Int64(tid)), .real(1))
        }
    }

    /// Replaces the value of a numeric feature for one entity.
    public func setNumeric(_ entity: Entity, id: Int, feature: Int, value: Double) throws {
        try deleteFeatureRows[entity]!.run(.integer(Int64(id)), .integer(Int64(feature)))
        try insertFeatureRow[entity]!.run(.integer(Int64(id)), .integer(Int64(feature)), .integer(0), .real(value))
    }

    // MARK: Splits

    /// Creates (or empties and re-describes) the split `name`; returns its id. A split made again
    /// with the same method and parameters keeps its `created_at`, so re-ingesting the same files
    /// changes nothing in the store (its parts come out the same).
    public func beginSplit(name: String, method: String, parameters: String) throws -> Int {
        let c = store.connection
        let now = ISO8601DateFormatter().string(from: Date())
        if let existing = try c.scalarInt("SELECT id FROM splits WHERE name = ?", .text(name)) {
            try c.prepare("DELETE FROM split_parts WHERE split = ?").run(.integer(existing))
            try c.prepare("""
                UPDATE splits SET created_at = CASE WHEN method = ?1 AND parameters = ?2 THEN created_at ELSE ?3 END,
                                  method = ?1, parameters = ?2 WHERE id = ?4
                """).run(.text(method), .text(parameters), .text(now), .integer(existing))
            return Int(existing)
        }
        try c.prepare("INSERT INTO splits(name, method, parameters, created_at) VALUES (?, ?, ?, ?)")
            .run(.text(name), .text(method), .text(parameters), .text(now))
        return Int(c.lastInsertRowID)
    }

    /// Puts one interaction into a part of a split (replacing an earlier assignment).
    public func assign(split: Int, interaction: Int64, part: SplitPart) throws {
        let s = assignPart
        try s.reset()
        try s.bind(Int64(split), at: 1)
        try s.bind(interaction, at: 2)
        try s.bind(Int64(part.rawValue), at: 3)
        _ = try s.step()
        try s.reset()
    }
}

/// A feature declared again with a different kind than the store holds.
public struct FeatureKindConflict: Error, CustomStringConvertible {
    public let entity: Entity
    public let name: String
    public let stored: FeatureKind
    public let given: FeatureKind
    public var description: String {
        "\(entity) feature '\(name)' is \(stored.rawValue) in the store but \(given.rawValue) in the input"
    }
}
