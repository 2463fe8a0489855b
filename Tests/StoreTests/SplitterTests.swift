import Foundation
import SQLite
@testable import Store
import TestScratch
import Testing

/// Stores live in the process's scratch directory, removed at exit.
func temporaryStorePath() -> String { Scratch.path("store", suffix: ".sqlite") }

/// A store holding `rows` of (user, item, timestamp).
func makeStore(_ rows: [(String, String, Int64?)]) throws -> InteractionStore {
    let store = try InteractionStore(path: temporaryStorePath())
    try store.connection.transaction {
        let writer = try StoreWriter(store: store)
        for (user, item, ts) in rows {
            try writer.addInteraction(user: try writer.id(of: .user, raw: user), item: try writer.id(of: .item, raw: item),
                                      timestamp: ts, weight: nil)
        }
    }
    return store
}

/// part → [(raw user, raw item)] of a split, sorted.
func parts(_ store: InteractionStore, _ split: String) throws -> [SplitPart: [String]] {
    var out: [SplitPart: [String]] = [:]
    let statement = try store.connection.prepare("""
        SELECT p.part, u.raw_id, it.raw_id FROM split_parts p
        JOIN splits s ON s.id = p.split JOIN interactions i ON i.id = p.interaction
        JOIN users u ON u.id = i.user JOIN items it ON it.id = i.item
        WHERE s.name = ? ORDER BY u.raw_id, it.raw_id
        """)
    try statement.query(.text(split)) { row in
        out[SplitPart(rawValue: row.int(0))!, default: []].append("\(row.string(1)):\(row.string(2))")
    }
    return out
}

struct SplitterTests {
    @Test func leaveLastOutTakesTheLastByTimeAndBreaksTiesByItemID() throws {
        // u1: i3 is latest alone; i2 and i9 tie at t=20 → by the source item id, i2 then i9, so i9 is
        // second-to-last. i9 appears first in the input, so its dense id is smaller: dense-id order
        // would get this wrong.
        let store = try makeStore([
            ("u1", "i9", 20), ("u1", "i2", 20), ("u1", "i1", 10), ("u1", "i3", 30),
            ("u2", "i1", 5), ("u2", "i2", 5), ("u2", "i3", 5),   // all tied: order by item id
            ("u3", "i1", 1), ("u3", "i2", 2),                    // two: one to test
            ("u4", "i1", 1),                                     // one: stays in train
            ("u5", "10", 7), ("u5", "9", 7),                     // numeric ids tie: 9 < 10, so 10 is last
        ])
        let counts = try Splitter(store: store).split(name: "llo", method: .leaveLastOut)
        let p = try parts(store, "llo")
        #expect(p[.test] == ["u1:i3", "u2:i3", "u3:i2", "u5:10"])
        #expect(p[.validation] == ["u1:i9", "u2:i2"])
        #expect(p[.train] == ["u1:i1", "u1:i2", "u2:i1", "u3:i1", "u4:i1", "u5:9"])
        #expect(counts[.train] == 6 && counts[.validation] == 2 && counts[.test] == 4)
    }

    /// What evaluation masks and user histories hold: the parts before the held-out one, merged
    /// per user in time order (the validation item after the train items it follows).
    @Test func partsKnownBeforeAHeldOutPartComeMergedInTimeOrder() throws {
        #expect(SplitPart.test.knownBefore == [.train, .validation])
        #expect(SplitPart.validation.knownBefore == [.train] && SplitPart.train.knownBefore.isEmpty)
        let store = try makeStore([("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3), ("u1", "d", 4), ("u2", "a", 5), ("u2", "c", 6), ("u2", "b", 7)])
        _ = try Splitter(store: store).split(name: "llo", method: .leaveLastOut)
        func visit(_ parts: [SplitPart]) throws -> [String] {
            var out: [String] = []
            try store.forEachInteraction(split: "llo", parts: parts) { u, i in
                out.append("\(try store.rawID(of: .user, dense: u) ?? "?"):\(try store.rawID(of: .item, dense: i) ?? "?")")
            }
            return out
        }
        #expect(try visit(SplitPart.test.knownBefore) == ["u1:a", "u1:b", "u1:c", "u2:a", "u2:c"])
        #expect(try visit(SplitPart.validation.knownBefore) == ["u1:a", "u1:b", "u2:a"])
        #expect(try visit([]).isEmpty)
    }

    @Test func timeOrderedSplitsRefuseInteractionsWithoutTimestamps() throws {
        let store = try makeStore([("u1", "i1", nil), ("u1", "i2", 3)])
        #expect(throws: StoreError.self) { try Splitter(store: store).split(name: "x", method: .leaveLastOut) }
        #expect(try store.splitNames().isEmpty, "a failed split leaves no trace")
    }

    @Test func temporalRatioPutsTheLatestInTest() throws {
        let rows = (0..<10).map { ("u1", "i\($0)", Int64(100 - $0)) }  // i9 is the earliest
        let store = try makeStore(rows)
        try Splitter(store: store).split(name: "t", method: .temporalRatio(validation: 0.1, test: 0.2))
        let p = try parts(store, "t")
        #expect(p[.test] == ["u1:i0", "u1:i1"])
        #expect(p[.validation] == ["u1:i2"])
        #expect(p[.train]?.count == 7)
    }

    @Test func randomRatioIsDeterministicUnderASeed() throws {
        var rows: [(String, String, Int64?)] = []
        for u in 0..<20 { for i in 0..<15 { rows.append(("u\(u)", "i\(i)", nil)) } }
        let store = try makeStore(rows)
        let splitter = Splitter(store: store)
        try splitter.split(name: "a", method: .randomRatio(validation: 0.2, test: 0.2, seed: 1))
        try splitter.split(name: "b", method: .randomRatio(validation: 0.2, test: 0.2, seed: 1))
        try splitter.split(name: "c", method: .randomRatio(validation: 0.2, test: 0.2, seed: 2))
        let a = try parts(store, "a"), b = try parts(store, "b"), c = try parts(store, "c")
        #expect(a == b)
        #expect(a != c)
        #expect(a[.test]?.count == 20 * 3 && a[.validation]?.count == 20 * 3 && a[.train]?.count == 20 * 9)
    }

    @Test func validationIsCarvedFromTheSourceTrainPartOnly() throws {
        var rows: [(String, String, Int64?)] = []
        for u in 0..<10 { for i in 0..<10 { rows.append(("u\(u)", "i\(i)", Int64(i))) } }
        let store = try makeStore(rows)
        let splitter = Splitter(store: store)
        try splitter.split(name: "base", method: .temporalRatio(validation: 0, test: 0.2))
        try splitter.split(name: "carved", method: .validationFrom(source: "base", fraction: 0.25, seed: 3))
        let base = try parts(store, "base"), carved = try parts(store, "carved")
        #expect(carved[.test] == base[.test], "test is copied unchanged")
        #expect(carved[.validation]?.count == 10 * 2)   // 25% of 8 train items per user
        #expect(Set(carved[.validation]!).isSubset(of: Set(base[.train]!)))
        #expect(carved[.train]!.count + carved[.validation]!.count == base[.train]!.count)
        #expect(throws: StoreError.self) {
            try splitter.split(name: "bad", method: .validationFrom(source: "missing", fraction: 0.1, seed: 1))
        }
    }

    @Test func rerunningASplitReplacesIt() throws {
        let store = try makeStore([("u1", "i1", 1), ("u1", "i2", 2), ("u1", "i3", 3)])
        try Splitter(store: store).split(name: "s", method: .leaveLastOut)
        try Splitter(store: store).split(name: "s", method: .temporalRatio(validation: 0, test: 0.34))
        let stats = try StoreStatistics(store: store)
        #expect(stats.splits["s"] == ["train": 2, "test": 1])
    }
}

struct StoreSchemaTests {
    @Test func anOlderStoreIsMigratedOnOpenAndKeepsItsData() throws {
        let path = temporaryStorePath()
        do {  // a version-1 store, as the first schema wrote it
            let db = try Connection(path: path)
            try db.execute(Schema.migrations[0])
            try db.execute("PRAGMA user_version = 1")
            try db.execute("INSERT INTO users(id, raw_id) VALUES (0, 'alice')")
        }
        let store = try InteractionStore(path: path)
        #expect(try store.schemaVersion == InteractionStore.supportedSchemaVersion)
        #expect(try store.count("runs") == 0)  // added by migration 2
        #expect(try store.denseID(of: .user, raw: "alice") == 0)
        // Migration 3: the items carrying a token are found through an index, not a table scan.
        var plan = ""
        try store.connection.cached("EXPLAIN QUERY PLAN SELECT entity FROM item_features WHERE token = ?")
            .query(.integer(1)) { plan += $0.string(3) }
        #expect(plan.contains("USING COVERING INDEX item_features_token"), "plan: \(plan)")
    }

    @Test func aFreshStoreHasTheCurrentSchema() throws {
        let store = try InteractionStore(path: temporaryStorePath())
        #expect(try store.schemaVersion == InteractionStore.supportedSchemaVersion)
        #expect(try store.count("runs") == 0)
    }

    @Test func aStoreFromTheFutureIsRefused() throws {
        let path = temporaryStorePath()
        do {
            let db = try Connection(path: path)
            try db.execute("PRAGMA user_version = 99")
        }
        #expect(throws: StoreError.schemaFromTheFuture(path: path, found: 99, supported: InteractionStore.supportedSchemaVersion)) {
            _ = try InteractionStore(path: path)
        }
    }

    @Test func aForeignSQLiteFileIsRefused() throws {
        let path = temporaryStorePath()
        do {
            let db = try Connection(path: path)
            try db.execute("CREATE TABLE mine(x)")
        }
        #expect { _ = try InteractionStore(path: path) } throws: { error in
            if case .notAStore = error as? StoreError { return true }
            return false
        }
    }

    @Test func statisticsReportCountsPercentilesAndSplits() throws {
        var rows: [(String, String, Int64?)] = []
        for u in 1...4 { for i in 0..<(u * 2) { rows.append(("u\(u)", "i\(i)", Int64(i))) } }  // 2, 4, 6, 8 per user
        let store = try makeStore(rows)
        try Splitter(store: store).split(name: "llo", method: .leaveLastOut)
        let stats = try StoreStatistics(store: store)
        #expect(stats.users == 4 && stats.items == 8 && stats.interactions == 20)
        #expect(stats.interactionsPerUser.min == 2 && stats.interactionsPerUser.max == 8 && stats.interactionsPerUser.p50 == 4)
        #expect(stats.interactionsPerUser.mean == 5)
        #expect(stats.splits["llo"] == ["train": 13, "validation": 3, "test": 4])
        let json = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        #expect(json.contains("\"interactions\":20") && json.contains("\"interactions_per_user\""))
    }
}
