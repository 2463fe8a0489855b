import CLMDB

/// An error returned by LMDB, carrying its numeric code, LMDB's own message and the call that failed.
public struct LMDBError: Error, CustomStringConvertible, Equatable, Sendable {
    /// LMDB's return code (`MDB_MAP_FULL`, `MDB_NOTFOUND`, an errno value, …), or one of ours below.
    public let code: Int32
    /// The text of `mdb_strerror(code)`, or our own message for wrapper-level errors.
    public let message: String
    /// The LMDB function or wrapper operation that failed, such as `mdb_put`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.message = String(cString: mdb_strerror(code))
    }

    init(code: Int32, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }

    public var description: String { "LMDB \(operation) failed: \(message) (code \(code))" }

    /// The map is full; `Environment.write` grows the map and retries on this code.
    public var isMapFull: Bool { code == MDB_MAP_FULL }
    /// The key was not found.
    public var isNotFound: Bool { code == MDB_NOTFOUND }

    /// A transaction or cursor was used after its scope ended.
    public static let closedCode: Int32 = -1_000_001
    static func closed(_ what: String) -> LMDBError {
        LMDBError(code: closedCode, message: "\(what) used after its scope ended", operation: what)
    }
}

/// Runs an LMDB call and throws `LMDBError` when it does not return `MDB_SUCCESS`.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws {
    if rc != MDB_SUCCESS { throw LMDBError(code: rc, operation: operation()) }
}
