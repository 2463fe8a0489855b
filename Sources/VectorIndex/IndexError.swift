/// Why an index could not be built, opened or searched. Every case names the bad input.
public enum IndexError: Error, CustomStringConvertible, Equatable {
    case badVectorFile(path: String, reason: String)
    case emptyInput(String)
    case nonFinite(source: String, row: Int, column: Int, value: Float)
    case dimensionMismatch(expected: Int, got: Int, what: String)
    case tooFewVectors(count: Int, nlist: Int)
    case duplicateID(Int64)
    case missingIndex(path: String)
    case notAnIndex(path: String, reason: String)
    case formatFromTheFuture(path: String, found: Int, supported: Int)
    case formatTooOld(path: String, found: Int, supported: Int)
    case badParameter(String)
    case unknownID(Int64)
    /// Another build holds the index directory's lock.
    case buildInProgress(path: String, pid: String)

    public var description: String {
        switch self {
        case let .badVectorFile(path, reason): "\(path): \(reason)"
        case .emptyInput(let what): "\(what) is empty: nothing to index"
        case let .nonFinite(source, row, column, value): "\(source): row \(row), column \(column) is \(value); vectors must be finite"
        case let .dimensionMismatch(expected, got, what): "\(what) has dimension \(got), but the index has dimension \(expected)"
        case let .tooFewVectors(count, nlist): "nlist \(nlist) is larger than the number of vectors (\(count)); use --nlist ≤ \(count)"
        case .duplicateID(let id): "id \(id) appears more than once"
        case .missingIndex(let path): "no index at \(path) (build one with `twotower build-index`)"
        case let .notAnIndex(path, reason): "\(path) is not a TwoTower index: \(reason)"
        case let .formatFromTheFuture(path, found, supported):
            "\(path): index format version \(found) is newer than this twotower reads (\(supported)); upgrade twotower"
        case let .formatTooOld(path, found, supported):
            "\(path): index format version \(found) was written by an older twotower; this one reads \(supported): build the index again with `twotower build-index`"
        case .badParameter(let message): message
        case .unknownID(let id): "no vector with id \(id) in the index"
        case let .buildInProgress(path, pid): "another build is running in \(path) (pid \(pid)); wait for it to finish"
        }
    }
}
