import Foundation
import SQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which side of the model an id or feature belongs to.
public enum Entity: String, Sendable, CaseIterable, Codable {
    case user, item

    var table: String { self == .user ? "users" : "items" }
    var featureTable: String { self == .user ? "user_features" : "item_features" }
}

/// The kinds of side feature the towers know how to encode.
public enum FeatureKind: String, Sendable, Codable, CaseIterable {
    /// One token per entity (gender, country, category).
    case categorical
    /// Any number of tokens per entity (genres, tags).
    case multihot
    /// One real number per entity (age, price); the model standardises it.
    case numeric
}

/// The parts of a split.
public enum SplitPart: Int, Sendable, CaseIterable, Codable {
    case train = 0, validation = 1, test = 2

    public var name: String { self == .train ? "train" : self == .validation ? "validation" : "test" }

    /// The parts known before this one is held out: what evaluation masks and what user histories
    /// hold (train before validation; train and validation before test).
    public var knownBefore: [SplitPart] { SplitPart.allCases.filter { $0.rawValue < rawValue } }
}

/// The SQLite file holding everything TwoTower knows about a data set: id maps, interactions,
/// side features, splits and runs. Storage only: no model or index code depends on its tables.
/// One store value is one SQLite connection: it may move between threads (a server's pool hands
/// it to one worker at a time) but is used by one thread at a time.
public final class InteractionStore: @unchecked Sendable {
    /// The underlying connection: the store's own components (and tests in this package) use it;
    /// everything else goes through the store's operations.
    package let connection: Connection
    public let path: String
    /// Token memberships remembered on this connection (`entitySet(of:withToken:)`).
    var tokenSets = TokenSetCache()

    /// Opens the store at `path`, creating it (unless `create` is false) and migrating it to the
    /// current schema.
    /// - Throws: `StoreError.missing`, `.notAStore`, `.schemaFromTheFuture`, or `SQLiteError`.
    /// - Parameter cacheMiB: the most page cache this connection keeps (bulk writes want a
    ///   large one; a server with one connection per worker, a small one).
    public init(path: String, create: Bool = true, readOnly: Bool = false, cacheMiB: Int = 256) throws {
        if !FileManager.default.fileExists(atPath: path) && (!create || readOnly) {
            throw StoreError.missing(path: path)
        }
        self.path = path
        do {
            connection = try Connection(path: path, readOnly: readOnly)
        } catch let error as SQLiteError where error.primaryCode == 26 /* SQLITE_NOTADB */ {
            throw StoreError.notAStore(path: path, reason: error.message)
        }
        // A bounded page cache large enough for the indexes of a big ingest: with SQLite's default
        // (2 MiB) every insert re-reads index pages from the WAL.
        try connection.execute("PRAGMA cache_size = -\(cacheMiB * 1024)")  // negative: KiB
        try connection.execute("PRAGMA temp_store = MEMORY")
        do {
            try migrate(readOnly: readOnly)
        } catch let error as SQLiteError where error.primaryCode == 26 {
            throw StoreError.notAStore(path: path, reason: error.message)
        }
    }

    /// The schema version of the open file.
    public var schemaVersion: Int {
        get throws { Int(try connection.scalarInt("PRAGMA user_version") ?? 0) }
    }

    /// The schema version this build of TwoTower reads and writes.
    public static var supportedSchemaVersion: Int { Schema.currentVersion }

    private func migrate(readOnly: Bool) throws {
        let found = try schemaVersion
        if found > Schema.currentVersion {
            throw StoreError.schemaFromTheFuture(path: path, found: found, supported: Schema.currentVersion)
        }
        if found == 0 {
            let tables = try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            if tables > 0 {
                throw StoreError.notAStore(path: path, reason: "it has tables but no TwoTower schema version")
            }
        }
        guard found < Schema.currentVersion else { return }
        if readOnly {
            throw StoreError.notAStore(path: path, reason: "schema version \(found) needs migrating; open it writable once")
        }
        try migrate(from: found, to: Schema.currentVersion)
    }

    /// Applies migrations `from+1 … to` in one transaction.
    func migrate(from: Int, to: Int) throws {
        try connection.transaction {
            for version in from..<to {
                try connection.execute(Schema.migrations[version])
            }
            try connection.execute("PRAGMA user_version = \(to)")
            if from == 0 {
                try connection.cached("INSERT INTO store_info(key, value) VALUES ('created_at', ?)")
                    .run(.text(ISO8601DateFormatter().string(from: Date())))
            }
        }
    }

    /// Runs `body` as one bulk write transaction: foreign-key checks off (the writers create
    /// parent rows before children, and per-row checks force a statement journal on each
    /// insert), the token index rebuilt once at the end (`bulkLoad`). All of it or none of it lands.
    public func bulkWrite<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("PRAGMA foreign_keys = OFF")
        defer { try? connection.execute("PRAGMA foreign_keys = ON") }
        return try connection.transaction { try bulkLoad(body) }
    }

    /// Runs `body` in one read transaction: all its queries see one snapshot of the store and
    /// take SQLite's file lock once (each query on its own takes and releases it: two `fcntl`
    /// calls, which were a fifth of the event writer's time).
    public func read<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction(immediate: false, body)
    }

    /// Runs `body` in one write transaction (nested calls become savepoints).
    public func write<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction(body)
    }

    /// The dense id of `raw`, creating the entity when the store does not have it yet.
    public func ensure(_ entity: Entity, raw: String) throws -> (dense: Int, created: Bool) {
        if let known = try denseID(of: entity, raw: raw) { return (known, false) }
        return try write {
            if let known = try denseID(of: entity, raw: raw) { return (known, false) }
            return (try StoreWriter(store: self).id(of: entity, raw: raw), true)
        }
    }

    /// Runs a bulk load (inside the caller's transaction). When the store holds no item features
    /// yet, the token index is dropped first and built once at the end, which is much cheaper than
    /// keeping it up to date row by row; if the load fails, the rollback restores it.
    public func bulkLoad<T>(_ body: () throws -> T) throws -> T {
        let empty = try connection.scalarInt("SELECT EXISTS (SELECT 1 FROM item_features)") == 0
        if empty { try connection.execute("DROP INDEX IF EXISTS item_features_token") }
        let result = try body()
        if empty { try connection.execute(Schema.itemFeaturesTokenIndex) }
        return result
    }

    // MARK: Lookups

    /// Number of rows in a table of the store (`users`, `items`, `interactions`, …).
    public func count(_ table: String) throws -> Int {
        Int(try connection.scalarInt("SELECT count(*) FROM \(table)") ?? 0)
    }

    /// The dense id of a raw id, or nil when the store has never seen it.
    public func denseID(of entity: Entity, raw: String) throws -> Int? {
        try connection.scalarInt("SELECT id FROM \(entity.table) WHERE raw_id = ?", .text(raw)).map(Int.init)
    }

    /// Every entity of one side, dense id and raw id, in dense-id order.
    public func forEachEntity(of entity: Entity, _ body: (Int, String) throws -> Void) throws {
        try connection.prepare("SELECT id, raw_id FROM \(entity.table) ORDER BY id").query { try body($0.int(0), $0.string(1)) }
    }

    /// The raw id of a dense id, or nil.
    public func rawID(of entity: Entity, dense: Int) throws -> String? {
        try connection.cached("SELECT raw_id FROM \(entity.table) WHERE id = ?").first([.integer(Int64(dense))]) { $0.string(0) }
    }

    /// The id of a split by name.
    public func splitID(named name: String) throws -> Int {
        guard let id = try connection.scalarInt("SELECT id FROM splits WHERE name = ?", .text(name)) else {
            throw StoreError.unknownSplit(name)
        }
        return Int(id)
    }

    /// The names of the splits in the store, oldest first.
    public func splitNames() throws -> [String] {
        var names: [String] = []
        try connection.cached("SELECT name FROM splits ORDER BY id").query { names.append($0.string(0)) }
        return names
    }

    /// Visits the (user, item) pairs of one part of a split, ordered by user then time then item.
    public func forEachInteraction(split: String, part: SplitPart,
                                   _ body: (_ user: Int, _ item: Int) throws -> Void) throws {
        try forEachInteraction(split: split, parts: [part], body)
    }

    /// The interactions of several parts of a split, merged per user in time order.
    public func forEachInteraction(split: String, parts: [SplitPart],
                                   _ body: (_ user: Int, _ item: Int) throws -> Void) throws {
        guard !parts.isEmpty else { return }
        let id = try splitID(named: split)
        let statement = try connection.cached("""
            SELECT i.user, i.item FROM split_parts p JOIN interactions i ON i.id = p.interaction
            WHERE p.split = ? AND p.part IN (\(parts.map { String($0.rawValue) }.joined(separator: ","))) ORDER BY i.user, i.ts, i.item
            """)
        try statement.query(.integer(Int64(id))) { row in
            try body(row.int(0), row.int(1))
        }
    }
}

extension InteractionStore {
    /// Builds a store beside `path` and moves it over `path` only when `body` has finished, so an
    /// interrupted build (an error, a kill) leaves the store at `path` as it was. `body` receives
    /// the store being built (at `path.building`, emptied first); the finished file is
    /// checkpointed into one file and renamed into place in one step.
    public static func buildBeside(_ path: String, _ body: (InteractionStore) throws -> Void) throws {
        let fm = FileManager.default
        let building = path + ".building"
        for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: building + suffix) }
        do {
            let store = try InteractionStore(path: building)
            try body(store)
            // Checkpoint the WAL into the main file, so the single rename below moves everything.
            try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: path + suffix) }
        guard rename(building, path) == 0 else {
            throw StoreError.unwritable(path: path, reason: "cannot move \(building) over it: \(String(cString: strerror(errno)))")
        }
        for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: building + suffix) }
    }
}
