import Foundation
import SQLite
@testable import Store
import Testing

/// A filtered query tests candidates against the items carrying a token. The daemon remembers
/// those sets per connection; they must follow every change to the store, whoever makes it.
struct TokenSetsTests {
    /// Items i0…i(n-1); item k carries "even" or "odd" by parity and "all" besides.
    func store(items n: Int) throws -> InteractionStore {
        let store = try makeStore((0..<n).map { ("u\($0)", "i\($0)", nil) })
        try store.connection.transaction {
            let writer = try StoreWriter(store: store)
            let tags = try writer.feature(.item, name: "tags", kind: .multihot)
            for k in 0..<n { try writer.setTokens(.item, id: k, feature: tags, tokens: [k % 2 == 0 ? "even" : "odd", "all"]) }
        }
        return store
    }

    func token(_ store: InteractionStore, _ name: String) throws -> Int {
        try #require(try store.tokenID(of: .item, feature: "tags", token: name))
    }

    @Test func aSetHoldsExactlyTheEntitiesWithTheToken() throws {
        let store = try store(items: 150)
        let even = try store.entitySet(of: .item, withToken: try token(store, "even"))
        #expect(even.count == 75)
        for id in -3..<300 { #expect(even.contains(id) == (id >= 0 && id < 150 && id % 2 == 0), "id \(id)") }
        #expect(try store.entitySet(of: .item, withToken: try token(store, "all")).count == 150)
        #expect(store.tokenSets.loads == 2)
        _ = try store.entitySet(of: .item, withToken: try token(store, "even"))
        #expect(store.tokenSets.loads == 2, "an unchanged store is answered from memory")
    }

    @Test func aCommitByAnotherConnectionIsSeen() throws {
        let first = try store(items: 10)
        let odd = try token(first, "odd")
        #expect(try first.entitySet(of: .item, withToken: odd).count == 5)
        let second = try InteractionStore(path: first.connection.path, create: false)
        try second.connection.transaction {
            let writer = try StoreWriter(store: second)
            let item = try writer.id(of: .item, raw: "i10")
            try writer.setTokens(.item, id: item, feature: try writer.feature(.item, name: "tags", kind: .multihot), tokens: ["odd"])
            try writer.setTokens(.item, id: 1, feature: try writer.feature(.item, name: "tags", kind: .multihot), tokens: ["even"])
        }
        let after = try first.entitySet(of: .item, withToken: odd)
        #expect(after.contains(10) && !after.contains(1) && after.count == 5)
    }

    @Test func aWriteThroughTheSameConnectionIsSeen() throws {
        let store = try store(items: 10)
        let even = try token(store, "even")
        #expect(!(try store.entitySet(of: .item, withToken: even).contains(3)))
        try store.connection.transaction {
            let writer = try StoreWriter(store: store)
            try writer.setTokens(.item, id: 3, feature: try writer.feature(.item, name: "tags", kind: .multihot), tokens: ["even"])
        }
        #expect(try store.entitySet(of: .item, withToken: even).contains(3))
    }

    @Test func aSetReadInsideARolledBackTransactionIsNotKept() throws {
        struct Abandon: Error {}
        let store = try store(items: 10)
        let even = try token(store, "even")
        _ = try store.entitySet(of: .item, withToken: even)
        #expect(throws: Abandon.self) {
            try store.connection.transaction {
                let writer = try StoreWriter(store: store)
                try writer.setTokens(.item, id: 5, feature: try writer.feature(.item, name: "tags", kind: .multihot), tokens: ["even"])
                #expect(try store.entitySet(of: .item, withToken: even).contains(5))
                throw Abandon()
            }
        }
        #expect(!(try store.entitySet(of: .item, withToken: even).contains(5)), "the rolled-back row is gone")
    }

    @Test func atMost64TokensAreKeptAndTheOldestGoesFirst() throws {
        let store = try store(items: 2)
        try store.connection.transaction {
            let writer = try StoreWriter(store: store)
            let colour = try writer.feature(.item, name: "colour", kind: .multihot)
            try writer.setTokens(.item, id: 0, feature: colour, tokens: (0..<65).map { "c\($0)" })
        }
        let tokens = try (0..<65).map { try #require(try store.tokenID(of: .item, feature: "colour", token: "c\($0)")) }
        for t in tokens { #expect(try store.entitySet(of: .item, withToken: t).contains(0)) }
        #expect(store.tokenSets.sets.count == 64 && store.tokenSets.loads == 65)
        _ = try store.entitySet(of: .item, withToken: tokens[64])
        #expect(store.tokenSets.loads == 65)
        _ = try store.entitySet(of: .item, withToken: tokens[0])
        #expect(store.tokenSets.loads == 66, "the first token was evicted")
    }
}
