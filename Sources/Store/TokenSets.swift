import SQLite

/// The entities of one side carrying one token, as a bit set over dense ids: what a filtered
/// query tests each candidate against, in constant time and one bit per entity (an eighth of a
/// byte per item, where a `Set` of the same ids takes tens of bytes per member).
public struct EntitySet: Sendable {
    private let words: [UInt64]
    /// How many entities carry the token.
    public let count: Int

    init(_ ids: [Int]) {
        let bound = (ids.max() ?? -1) + 1
        var words = [UInt64](repeating: 0, count: (bound + 63) / 64)
        for id in ids where id >= 0 { words[id >> 6] |= 1 << UInt64(id & 63) }
        self.words = words
        count = words.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public func contains(_ id: Int) -> Bool {
        id >= 0 && id >> 6 < words.count && words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }
}

/// The token sets one connection has read, valid while the store file is unchanged.
struct TokenSetCache {
    /// Tokens kept at most; the oldest goes first.
    static let capacity = 64

    struct Key: Hashable {
        var entity: Entity
        var token: Int
    }

    /// `PRAGMA data_version` (commits by other connections) and this connection's total changes
    /// when the sets were read.
    private var stamp: (Int64, Int)?
    private(set) var sets: [Key: EntitySet] = [:]
    private var order: [Key] = []
    /// Sets read from the store (not from memory) over the connection's life: for tests.
    private(set) var loads = 0

    /// The set for `key`, from memory when the store's stamp is still `stamp`, else from `load`.
    mutating func set(_ key: Key, stamp: (Int64, Int), load: () throws -> EntitySet) rethrows -> EntitySet {
        if self.stamp.map({ $0 != stamp }) ?? true {
            sets = [:]
            order = []
            self.stamp = stamp
        }
        if let known = sets[key] { return known }
        let set = try load()
        loads += 1
        if order.count == Self.capacity { sets[order.removeFirst()] = nil }
        sets[key] = set
        order.append(key)
        return set
    }
}

extension InteractionStore {
    /// The entities of one side carrying `token`. Remembered on this connection until the store
    /// changes (a commit by any connection, or a write through this one), for up to 64 tokens: a
    /// filtered query on a popular category reads tens of thousands of rows, which took longer
    /// than the rest of the query at a million items.
    /// Inside a transaction the set is read but not kept: a rollback would leave the change count
    /// moved past rows that no longer exist.
    public func entitySet(of entity: Entity, withToken token: Int) throws -> EntitySet {
        let load = { EntitySet(try self.entities(of: entity, withToken: token)) }
        if connection.isInTransaction { return try load() }
        let stamp = (try connection.scalarInt("PRAGMA data_version") ?? 0, connection.totalChanges)
        return try tokenSets.set(.init(entity: entity, token: token), stamp: stamp, load: load)
    }
}
