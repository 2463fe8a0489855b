import SQLite

/// One stored side-feature value.
public struct StoredFeature: Sendable {
    public var entity: Int
    public var name: String
    public var kind: FeatureKind
    /// The token's store id (categorical and multi-hot; 0 for numeric).
    public var token: Int
    public var value: Double
}

extension InteractionStore {
    /// The features declared for one side, as (name, kind), by name.
    public func featureDefinitions(of entity: Entity) throws -> [(name: String, kind: FeatureKind)] {
        var out: [(String, FeatureKind)] = []
        try connection.cached("SELECT name, kind FROM features WHERE entity = ? ORDER BY name").query(.text(entity.rawValue)) {
            out.append(($0.string(0), FeatureKind(rawValue: $0.string(1)) ?? .categorical))
        }
        return out
    }

    /// One past the largest token id: the rows a token embedding table needs.
    public func tokenRows() throws -> Int {
        Int(try connection.scalarInt("SELECT coalesce(max(id), -1) + 1 FROM feature_tokens") ?? 0)
    }

    /// Visits every feature value of one side, or of one entity when `only` is given.
    public func forEachFeature(of entity: Entity, only: Int? = nil, _ body: (StoredFeature) throws -> Void) throws {
        // Two statements rather than `? IS NULL OR …`, so the one-entity lookup uses the primary key.
        let statement = try connection.cached("""
            SELECT v.entity, f.name, f.kind, v.token, v.value FROM \(entity.featureTable) v
            JOIN features f ON f.id = v.feature \(only == nil ? "" : "WHERE v.entity = ?") ORDER BY v.entity
            """)
        let values: [SQLiteValue] = only.map { [.integer(Int64($0))] } ?? []
        try statement.bind(values)
        defer { try? statement.reset() }
        while try statement.step() {
            let row = statement
            try body(StoredFeature(entity: row.int(0), name: row.string(1), kind: FeatureKind(rawValue: row.string(2)) ?? .categorical,
                                   token: row.int(3), value: row.double(4)))
        }
    }

    /// A user's most recent interactions (any split), newest first, with their times: what the
    /// daemon merges its not-yet-merged events into.
    public func recentInteractions(of user: Int, limit: Int) throws -> [(item: Int, timestamp: Int64?)] {
        var rows: [(Int, Int64?)] = []
        try connection.cached("SELECT item, ts FROM interactions WHERE user = ? ORDER BY ts DESC, id DESC LIMIT ?")
            .query(.integer(Int64(user)), .integer(Int64(limit))) { rows.append(($0.int(0), $0.isNull(1) ? nil : $0.int64(1))) }
        return rows
    }

    /// A user's most recent items over all their interactions (any split), oldest first.
    public func recentItems(of user: Int, limit: Int) throws -> [Int] {
        var items: [Int] = []
        try connection.cached("SELECT item FROM interactions WHERE user = ? ORDER BY ts DESC, id DESC LIMIT ?")
            .query(.integer(Int64(user)), .integer(Int64(limit))) { items.append($0.int(0)) }
        return items.reversed()
    }
}

extension InteractionStore {
    /// The kind of a declared feature, or nil when the store has no such feature.
    public func featureKind(of entity: Entity, name: String) throws -> FeatureKind? {
        try connection.cached("SELECT kind FROM features WHERE entity = ? AND name = ?")
            .first([.text(entity.rawValue), .text(name)]) { FeatureKind(rawValue: $0.string(0)) } ?? nil
    }

    /// The id of a token of a feature (categorical or multi-hot), or nil when unseen.
    public func tokenID(of entity: Entity, feature: String, token: String) throws -> Int? {
        try connection.cached("""
            SELECT t.id FROM feature_tokens t JOIN features f ON f.id = t.feature
            WHERE f.entity = ? AND f.name = ? AND t.token = ?
            """).first([.text(entity.rawValue), .text(feature), .text(token)]) { $0.int(0) }
    }

    /// The entities of one side that carry a token.
    public func entities(of entity: Entity, withToken token: Int) throws -> [Int] {
        var out: [Int] = []
        try connection.cached("SELECT entity FROM \(entity.featureTable) WHERE token = ?").query(.integer(Int64(token))) { out.append($0.int(0)) }
        return out
    }

    /// Every item a user has interacted with, in any split.
    public func interactedItems(of user: Int) throws -> [Int] {
        var items: [Int] = []
        try connection.cached("SELECT DISTINCT item FROM interactions WHERE user = ?").query(.integer(Int64(user))) { items.append($0.int(0)) }
        return items
    }
}
