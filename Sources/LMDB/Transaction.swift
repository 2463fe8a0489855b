import CLMDB
import Foundation

/// Operations shared by read and write transactions.
///
/// A transaction object is valid only inside the closure that received it; any use afterwards
/// throws `LMDBError` with `closedCode`. Zero-copy values are lent to a closure, never returned,
/// so a pointer into the memory map cannot outlive the snapshot it belongs to.
public class Transaction: @unchecked Sendable {
    unowned let environment: Environment
    var handle: OpaquePointer?

    init(environment: Environment, handle: OpaquePointer) {
        self.environment = environment
        self.handle = handle
    }

    func live() throws -> OpaquePointer {
        guard let handle else { throw LMDBError.closed("transaction") }
        return handle
    }

    func abortIfOpen() {
        if let handle {
            mdb_txn_abort(handle)
            self.handle = nil
        }
    }

    /// Opens a database inside this transaction. Creating one needs a write transaction.
    public func openDatabase(named name: String?, create: Bool = false) throws -> Database {
        let txn = try live()
        var dbi = MDB_dbi()
        let flags = create ? UInt32(MDB_CREATE) : 0
        let rc: Int32 = if let name { mdb_dbi_open(txn, name, flags, &dbi) } else { mdb_dbi_open(txn, nil, flags, &dbi) }
        if rc == MDB_NOTFOUND {
            throw LMDBError(code: rc, message: "no database named '\(name ?? "<main>")' in \(environment.path)",
                            operation: "mdb_dbi_open")
        }
        try check(rc, "mdb_dbi_open(\(name ?? "<main>"))")
        return Database(dbi: dbi, name: name)
    }

    /// Lends the stored value for `key` to `body` without copying it; returns nil when the key is absent.
    /// The buffer points into the memory map and is valid only during `body`.
    public func withValue<R>(forKey key: some ContiguousBytes, in db: Database,
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        let txn = try live()
        return try key.withUnsafeBytes { keyBytes -> R? in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(txn, db.dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get")
            return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// A copy of the stored value for `key`, or nil.
    public func value(forKey key: some ContiguousBytes, in db: Database) throws -> [UInt8]? {
        try withValue(forKey: key, in: db) { Array($0) }
    }

    /// Number of entries in `db`.
    public func count(in db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(try live(), db.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when `body` ends.
    public func withCursor<R>(in db: Database, _ body: (Cursor) throws -> R) throws -> R {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(try live(), db.dbi, &cursor), "mdb_cursor_open")
        let wrapped = Cursor(handle: cursor!)
        defer { wrapped.close() }
        return try body(wrapped)
    }

    /// Visits entries in key order, starting at the first key ≥ `start` (or the first entry),
    /// until `body` returns false. Keys and values are zero-copy and valid only during each call.
    public func forEach(in db: Database, from start: [UInt8]? = nil,
                        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try withCursor(in: db) { cursor in
            var found = if let start { try cursor.seek(atLeast: start) } else { try cursor.move(.first) }
            while found {
                let more = try cursor.withCurrent { key, value in try body(key, value) }
                if !more { break }
                found = try cursor.move(.next)
            }
        }
    }
}

/// A read-only snapshot. Many may be open at once, in this process and others, while a writer commits.
public final class ReadTransaction: Transaction, @unchecked Sendable {
    func finish() throws {
        let txn = try live()
        handle = nil
        try check(mdb_txn_commit(txn), "mdb_txn_commit(read-only)")
    }
}

/// The single write transaction of an environment; see `Environment.write`.
public final class WriteTransaction: Transaction, @unchecked Sendable {
    /// Stores `value` under `key`, replacing any existing value. With `append`, keys must arrive
    /// in ascending order (`MDB_APPEND`), which makes bulk loads much faster; a key out of order
    /// fails with `MDB_KEYEXIST`.
    public func put(_ value: some ContiguousBytes, forKey key: some ContiguousBytes, in db: Database,
                    append: Bool = false) throws {
        let txn = try live()
        try key.withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var v = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                try check(mdb_put(txn, db.dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0), "mdb_put")
            }
        }
    }

    /// Reserves `size` bytes for `key` inside the map and lets `fill` write them in place (no
    /// intermediate copy; `MDB_RESERVE`). The buffer is valid only during `fill`.
    public func putReserved(size: Int, forKey key: some ContiguousBytes, in db: Database,
                            _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let txn = try live()
        try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val(mv_size: size, mv_data: nil)
            try check(mdb_put(txn, db.dbi, &k, &v, UInt32(MDB_RESERVE)), "mdb_put(MDB_RESERVE)")
            try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
        }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    public func delete(key: some ContiguousBytes, in db: Database) throws -> Bool {
        let txn = try live()
        return try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            let rc = mdb_del(txn, db.dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del")
            return true
        }
    }

    /// Removes every entry of `db`, keeping the database.
    public func clear(_ db: Database) throws {
        try check(mdb_drop(try live(), db.dbi, 0), "mdb_drop")
    }

    func commit() throws {
        let txn = try live()
        handle = nil  // mdb_txn_commit frees the transaction even when it fails
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
    }
}

/// A position in a database, lent to a `withCursor` closure.
public final class Cursor: @unchecked Sendable {
    private var handle: OpaquePointer?

    /// Where to move the cursor.
    public enum Movement: Sendable {
        case first, last, next, previous
        var op: MDB_cursor_op {
            switch self {
            case .first: MDB_FIRST
            case .last: MDB_LAST
            case .next: MDB_NEXT
            case .previous: MDB_PREV
            }
        }
    }

    init(handle: OpaquePointer) { self.handle = handle }

    func close() {
        if let handle { mdb_cursor_close(handle) }
        handle = nil
    }

    private func live() throws -> OpaquePointer {
        guard let handle else { throw LMDBError.closed("cursor") }
        return handle
    }

    /// Moves the cursor; returns false when there is no such entry.
    public func move(_ movement: Movement) throws -> Bool {
        var k = MDB_val(), v = MDB_val()
        let rc = mdb_cursor_get(try live(), &k, &v, movement.op)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_cursor_get")
        return true
    }

    /// Positions at the first key ≥ `key`; returns false when every key is smaller.
    public func seek(atLeast key: some ContiguousBytes) throws -> Bool {
        let cursor = try live()
        return try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_cursor_get(MDB_SET_RANGE)")
            return true
        }
    }

    /// Lends the current key and value (zero-copy) to `body`.
    public func withCurrent<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) throws -> R {
        var k = MDB_val(), v = MDB_val()
        try check(mdb_cursor_get(try live(), &k, &v, MDB_GET_CURRENT), "mdb_cursor_get(MDB_GET_CURRENT)")
        return try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                        UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}

/// A read transaction kept for reuse: `read` renews it, runs the body on a fresh snapshot, and
/// resets it, which releases the snapshot without freeing the transaction (`mdb_txn_reset` /
/// `mdb_txn_renew`). One reader serves one caller at a time; give each worker its own.
public final class Reader: @unchecked Sendable {
    private let environment: Environment
    private var handle: OpaquePointer?
    private let busy = NSLock()

    init(environment: Environment) throws {
        self.environment = environment
        environment.resizeLock.lockShared()
        defer { environment.resizeLock.unlock() }
        let txn = try environment.beginTransaction(readOnly: true)
        mdb_txn_reset(txn)
        self.handle = txn
    }

    deinit { if let handle { mdb_txn_abort(handle) } }

    /// Runs `body` on a fresh snapshot of the environment.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        busy.lock()
        defer { busy.unlock() }
        guard let handle else { throw LMDBError.closed("reader") }
        environment.resizeLock.lockShared()
        defer { environment.resizeLock.unlock() }
        var rc = mdb_txn_renew(handle)
        if rc == MDB_MAP_RESIZED {
            mdb_env_set_mapsize(environment.handle, 0)
            rc = mdb_txn_renew(handle)
        }
        try check(rc, "mdb_txn_renew")
        let txn = ReadTransaction(environment: environment, handle: handle)
        defer {
            txn.handle = nil  // the scoped object dies; the raw transaction is kept for renewal
            mdb_txn_reset(handle)
        }
        return try body(txn)
    }
}
