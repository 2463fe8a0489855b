import Foundation
import Store
import Synchronization

/// SQLite connections to the store, one per concurrent user: a connection is not shared by two
/// threads at once, and opening one per request would cost more than the query.
final class StorePool: Sendable {
    let path: String
    /// Page cache per connection: lookups touch few pages, and there is one connection per worker.
    static let cacheMiB = 32
    private let free = Mutex<[InteractionStore]>([])

    init(path: String) throws {
        self.path = path
        let first = try InteractionStore(path: path, create: false, cacheMiB: Self.cacheMiB)
        free.withLock { $0.append(first) }
    }

    func with<T>(_ body: (InteractionStore) throws -> T) throws -> T {
        let store = try free.withLock { $0.popLast() } ?? InteractionStore(path: path, create: false, cacheMiB: Self.cacheMiB)
        defer { free.withLock { $0.append(store) } }
        return try body(store)
    }
}
