import CSQLite

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByFloatLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(floatLiteral value: Double) { self = .real(value) }

    /// `.integer(value)`, or `.null` for nil.
    public static func int(_ value: Int?) -> SQLiteValue { value.map { .integer(Int64($0)) } ?? .null }
    /// `.real(value)`, or `.null` for nil.
    public static func double(_ value: Double?) -> SQLiteValue { value.map { .real($0) } ?? .null }
    /// `.text(value)`, or `.null` for nil.
    public static func string(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
}

/// SQLITE_TRANSIENT: SQLite copies bound text and blobs.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A compiled statement. Bind parameters (1-based, as in SQLite), step through rows, read typed
/// columns (0-based), then `reset` to run it again with new bindings. Finalized on deinit.
public final class Statement {
    let handle: OpaquePointer
    unowned let connection: Connection
    /// The SQL text, carried into errors.
    public let sql: String

    init(connection: Connection, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw SQLiteError(code: rc, message: connection.lastErrorMessage, sql: sql)
        }
        self.handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ rc: Int32) throws {
        if rc != SQLITE_OK { throw SQLiteError(code: rc, message: connection.lastErrorMessage, sql: sql) }
    }

    // MARK: Binding

    /// Binds `values` to parameters 1…n after resetting the statement.
    public func bind(_ values: [SQLiteValue]) throws {
        try reset()
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws {
        switch value {
        case .null: try check(sqlite3_bind_null(handle, index))
        case .integer(let v): try bind(v, at: index)
        case .real(let v): try bind(v, at: index)
        case .text(let v): try bind(v, at: index)
        case .blob(let v): try bindBlob(v, at: index)
        }
    }

    public func bind(_ value: Int64, at index: Int32) throws { try check(sqlite3_bind_int64(handle, index, value)) }
    public func bind(_ value: Int, at index: Int32) throws { try bind(Int64(value), at: index) }
    public func bind(_ value: Double, at index: Int32) throws { try check(sqlite3_bind_double(handle, index, value)) }
    public func bind(_ value: String, at index: Int32) throws {
        try check(sqlite3_bind_text(handle, index, value, -1, transient))
    }
    public func bindNull(at index: Int32) throws { try check(sqlite3_bind_null(handle, index)) }

    /// Binds raw bytes as TEXT without building a String (used by the ingest hot path).
    public func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            try check(sqlite3_bind_text(handle, index, "", 0, transient))
            return
        }
        try check(sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient))
    }

    public func bindBlob(_ bytes: some Collection<UInt8>, at index: Int32) throws {
        let array = Array(bytes)
        try array.withUnsafeBytes { raw in
            try check(sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), transient))
        }
    }

    // MARK: Stepping

    /// Advances to the next row; returns false when the statement is done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = connection.lastErrorMessage
            sqlite3_reset(handle)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// Rewinds the statement so it can run again; bindings are kept until rebound.
    public func reset() throws {
        sqlite3_reset(handle)
    }

    /// Binds `values`, steps to completion and resets: for INSERT/UPDATE/DELETE.
    public func run(_ values: SQLiteValue...) throws {
        try bind(values)
        while try step() {}
        try reset()
    }

    /// Binds `values`, reads the first result row with `read` and resets; nil when there is no
    /// row. A single-row lookup must not leave its statement mid-result: an unfinished statement
    /// keeps the connection's read transaction open, so later reads on it would see an old
    /// snapshot and its next write would fail with SQLITE_BUSY once another connection commits.
    public func first<T>(_ values: [SQLiteValue], read: (Statement) throws -> T) throws -> T? {
        try bind(values)
        defer { sqlite3_reset(handle) }
        return try step() ? read(self) : nil
    }

    /// Binds `values` and calls `row` for every result row.
    public func query(_ values: SQLiteValue..., row: (Statement) throws -> Void) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        while try step() { try row(self) }
    }

    // MARK: Columns

    public var columnCount: Int32 { sqlite3_column_count(handle) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }
    public func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    public func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
