import Foundation
import Store

/// SQLite connections to the store, one per concurrent user: a connection is not shared by two
/// threads at once, and opening one per request would cost more than the query.
final class StorePool: @unchecked Sendable {
    let path: String
    private let free = Locked<[InteractionStore]>([])

    init(path: String) throws {
        self.path = path
        free.withLock { $0.append(contentsOf: []) }
        let first = try InteractionStore(path: path, create: false)
        free.withLock { $0.append(first) }
    }

    func with<T>(_ body: (InteractionStore) throws -> T) throws -> T {
        let store = try free.withLock { $0.popLast() } ?? InteractionStore(path: path, create: false)
        defer { free.withLock { $0.append(store) } }
        return try body(store)
    }
}
