import CSQLite

/// An open SQLite database file.
///
/// Opened in WAL mode with a busy timeout, so readers in other processes never block the writer
/// and short lock contention is waited out rather than failed. A connection is used by one thread
/// at a time (SQLite's "multi-thread" mode); open one per thread for parallel readers.
public final class Connection {
    let handle: OpaquePointer
    /// The path the database was opened at.
    public let path: String
    private var transactionDepth = 0
    private var statementCache: [String: Statement] = [:]

    /// Opens (creating unless `readOnly`) the database at `path`.
    /// - Parameter busyTimeoutMilliseconds: how long to wait on a lock held by another connection.
    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5_000) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "cannot open \(path): \(message)", sql: nil)
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        self.handle = db
        self.path = path
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
        }
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit {
        statementCache.removeAll()  // finalise cached statements before closing
        sqlite3_close_v2(handle)
    }

    /// Closing skips the checkpoint SQLite otherwise runs when the last connection to a WAL
    /// database closes: for a database about to be deleted, that checkpoint would only copy the
    /// WAL into the file and wait for the disk.
    public func skipCheckpointOnClose() throws {
        let rc = twotower_sqlite3_set_no_checkpoint_on_close(handle, 1)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: lastErrorMessage, sql: nil) }
    }

    /// Runs one or more statements that return no rows of interest.
    public func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// Compiles `sql` into a reusable prepared statement.
    public func prepare(_ sql: String) throws -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// A statement prepared once per connection and reused, reset and ready to bind: for the
    /// lookups a server repeats on every request, where parsing the SQL would cost more than
    /// running it. Like the connection, not for two threads at once. Read it through `query`,
    /// `first` or `run`, which reset it when done: a cached statement left mid-result would keep
    /// the connection's read snapshot open until its next use.
    public func cached(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] {
            try statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    /// Nested calls become savepoints, so an inner failure rolls back only the inner part.
    ///
    /// `immediate` takes the write lock at the start (`BEGIN IMMEDIATE`), which avoids a
    /// deadlock-prone upgrade from reader to writer in a write transaction.
    public func transaction<R>(immediate: Bool = true, _ body: () throws -> R) throws -> R {
        let depth = transactionDepth
        let savepoint = "tt_sp\(depth)"
        try execute(depth == 0 ? (immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED") : "SAVEPOINT \(savepoint)")
        transactionDepth += 1
        do {
            let result = try body()
            transactionDepth -= 1
            try execute(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
            return result
        } catch {
            if transactionDepth > depth { transactionDepth = depth }
            if depth == 0 {
                try? execute("ROLLBACK")
            } else {
                try? execute("ROLLBACK TO \(savepoint)")
                try? execute("RELEASE \(savepoint)")
            }
            throw error
        }
    }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The rowid of the last inserted row.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Rows changed through this connection since it opened. With `PRAGMA data_version`, which
    /// moves on commits by other connections only, it tells a cache whether the file changed.
    public var totalChanges: Int { Int(sqlite3_total_changes64(handle)) }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs a query and returns the first column of the first row as an integer (nil when no row or NULL).
    public func scalarInt(_ sql: String, _ values: SQLiteValue...) throws -> Int64? {
        try cached(sql).first(values) { $0.isNull(0) ? nil : $0.int64(0) } ?? nil
    }
}
