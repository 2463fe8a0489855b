import SQLite

/// Percentiles of a count distribution (interactions per user or per item).
public struct CountDistribution: Codable, Equatable, Sendable {
    public var min: Int
    public var p25: Int
    public var p50: Int
    public var p75: Int
    public var p90: Int
    public var p99: Int
    public var max: Int
    public var mean: Double

    /// Nearest-rank percentiles of `counts`.
    public init(counts: [Int]) {
        let sorted = counts.sorted()
        func rank(_ p: Double) -> Int {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        p25 = rank(0.25); p50 = rank(0.5); p75 = rank(0.75); p90 = rank(0.9); p99 = rank(0.99)
        mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count)
    }
}

/// What `twotower stats` reports about a store.
public struct StoreStatistics: Codable, Equatable, Sendable {
    public var users: Int
    public var items: Int
    public var interactions: Int
    /// split name → part name → interactions.
    public var splits: [String: [String: Int]]
    public var interactionsPerUser: CountDistribution
    public var interactionsPerItem: CountDistribution
    /// entity → feature name → kind.
    public var features: [String: [String: String]]
    public var schemaVersion: Int

    enum CodingKeys: String, CodingKey {
        case users, items, interactions, splits, features
        case interactionsPerUser = "interactions_per_user"
        case interactionsPerItem = "interactions_per_item"
        case schemaVersion = "schema_version"
    }

    /// Reads the figures from `store`.
    public init(store: InteractionStore) throws {
        let c = store.connection
        users = try store.count("users")
        items = try store.count("items")
        interactions = try store.count("interactions")
        interactionsPerUser = CountDistribution(counts: try store.interactionCounts(per: .user))
        interactionsPerItem = CountDistribution(counts: try store.interactionCounts(per: .item))
        var splits: [String: [String: Int]] = [:]
        for name in try store.splitNames() { splits[name] = [:] }
        try c.prepare("""
            SELECT s.name, p.part, count(*) FROM split_parts p JOIN splits s ON s.id = p.split GROUP BY s.name, p.part
            """).query { row in
            let part = SplitPart(rawValue: row.int(1))?.name ?? "part\(row.int(1))"
            splits[row.string(0), default: [:]][part] = row.int(2)
        }
        var features: [String: [String: String]] = [:]
        try c.prepare("SELECT entity, name, kind FROM features ORDER BY id").query { row in
            features[row.string(0), default: [:]][row.string(1)] = row.string(2)
        }
        self.splits = splits
        self.features = features
        schemaVersion = try store.schemaVersion
    }
}

extension InteractionStore {
    /// Interactions per user (or per item) that has any, in id order.
    public func interactionCounts(per entity: Entity) throws -> [Int] {
        var out: [Int] = []
        if entity == .user {
            try connection.prepare("SELECT count(*) FROM interactions GROUP BY user").query { out.append($0.int(0)) }
            return out
        }
        // No index by item (schema 5): one pass over the table, counted in memory, is faster
        // than SQLite's sort for the GROUP BY.
        let bound = Int(try connection.scalarInt("SELECT coalesce(max(id), -1) + 1 FROM items") ?? 0)
        var counts = [Int](repeating: 0, count: bound)
        try connection.prepare("SELECT item FROM interactions").query { row in
            let item = row.int(0)
            if item >= 0 && item < bound { counts[item] += 1 }
        }
        return counts.filter { $0 > 0 }
    }
}
