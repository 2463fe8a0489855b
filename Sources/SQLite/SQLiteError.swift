import CSQLite

/// An error from SQLite, carrying its result code, SQLite's message and the SQL that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_BUSY`, …).
    public let code: Int32
    /// SQLite's message (`sqlite3_errmsg`) at the time of the failure.
    public let message: String
    /// The statement being prepared or run, when there was one.
    public let sql: String?

    public init(code: Int32, message: String, sql: String?) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    public var description: String {
        if let sql { return "SQLite error \(code): \(message) — in: \(sql)" }
        return "SQLite error \(code): \(message)"
    }

    /// The primary result code (`SQLITE_CONSTRAINT` for `SQLITE_CONSTRAINT_UNIQUE`, …).
    public var primaryCode: Int32 { code & 0xFF }
}
