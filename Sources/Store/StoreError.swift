/// Errors about the store's contents (SQLite's own failures arrive as `SQLiteError`).
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// The file was written by a newer TwoTower.
    case schemaFromTheFuture(path: String, found: Int, supported: Int)
    /// The file is not a TwoTower store.
    case notAStore(path: String, reason: String)
    /// The store file does not exist and we were asked not to create it.
    case missing(path: String)
    case unknownSplit(String)
    case invalidSplit(String)
    /// The store file could not be written or moved into place.
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .schemaFromTheFuture(path, found, supported):
            "\(path): store schema version \(found) is newer than this twotower supports (\(supported)); upgrade twotower"
        case let .notAStore(path, reason):
            "\(path) is not a TwoTower store: \(reason)"
        case let .missing(path):
            "no store at \(path) (create one with `twotower ingest`)"
        case let .unknownSplit(name):
            "no split named '\(name)' in the store (see `twotower stats`)"
        case let .invalidSplit(reason):
            "cannot split: \(reason)"
        case let .unwritable(path, reason):
            "cannot write the store \(path): \(reason)"
        }
    }
}
