import Foundation
import SQLite
@testable import Store
import Testing

/// A server keeps one store connection per worker and reuses cached statements; a lookup that
/// left its statement mid-result kept that connection on an old snapshot (it missed rows other
/// connections committed, and its next write failed with SQLITE_BUSY).
struct TwoConnectionsTests {
    /// A store with one item carrying a categorical feature, and the path to open it again.
    func storeWithAFeature() throws -> (InteractionStore, String) {
        let store = try makeStore([("u1", "i1", 1)])
        try store.connection.transaction {
            let writer = try StoreWriter(store: store)
            let genre = try writer.feature(.item, name: "genre", kind: .categorical)
            try writer.setTokens(.item, id: 0, feature: genre, tokens: ["jazz"])
        }
        return (store, store.connection.path)
    }

    /// Each single-row lookup of the server's request path, with its name.
    static let lookups: [(String, @Sendable (InteractionStore) throws -> Void)] = [
        ("rawID", { _ = try $0.rawID(of: .item, dense: 0) }),
        ("denseID", { _ = try $0.denseID(of: .item, raw: "i1") }),
        ("featureKind", { _ = try $0.featureKind(of: .item, name: "genre") }),
        ("tokenID", { _ = try $0.tokenID(of: .item, feature: "genre", token: "jazz") }),
    ]

    @Test(arguments: 0..<lookups.count)
    func aLookupLeavesNoSnapshotBehind(_ n: Int) throws {
        let (first, path) = try storeWithAFeature()
        let (name, lookup) = Self.lookups[n]
        try lookup(first)
        // Another connection (another worker, or another process) adds an item after the lookup.
        let second = try InteractionStore(path: path, create: false)
        try second.connection.transaction { _ = try StoreWriter(store: second).id(of: .item, raw: "i2") }
        #expect(try first.denseID(of: .item, raw: "i2") == 1, "after \(name), the first connection still reads an old snapshot")
        try first.connection.transaction { _ = try StoreWriter(store: first).id(of: .item, raw: "i3") }
        #expect(try second.denseID(of: .item, raw: "i3") == 2, "after \(name)")
    }
}
