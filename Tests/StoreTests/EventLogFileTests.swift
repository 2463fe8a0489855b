import Foundation
import SQLite
@testable import Store
import TestScratch
import Testing

/// The event log's file: what was appended is what recovery reads, a recycled file shows none
/// of its earlier records, and a damaged tail ends the log without losing what came before.
struct EventLogFileTests {
    /// A directory of its own and a store path in it (the log needs no store file).
    func storePath() throws -> String {
        let directory = Scratch.path("eventlog")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/store.sqlite"
    }

    func logs(beside storePath: String) throws -> [String] {
        let url = URL(fileURLWithPath: storePath)
        return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(url.lastPathComponent + ".events-") }
    }

    func recovered(_ storePath: String) throws -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        _ = try EventLog.recoverAbandoned(storePath: storePath) { events += $0 }
        return events
    }

    static let first: [(user: String, item: Int, timestamp: Int64, weight: Double?)] =
        [("ana", 3, 100, nil), ("bö-🎧", 7, -5, 2.5), ("", 0, 0, 0)]
    static let second: [(user: String, item: Int, timestamp: Int64, weight: Double?)] = [("carl", 1 << 40, Int64.max, -1)]

    func expected(_ events: [(user: String, item: Int, timestamp: Int64, weight: Double?)], from id: Int64) -> [LoggedEvent] {
        events.enumerated().map { LoggedEvent(id: id + Int64($0), user: $1.user, item: $1.item, timestamp: $1.timestamp, weight: $1.weight) }
    }

    @Test func whatWasAppendedIsWhatALaterDaemonRecovers() throws {
        let store = try storePath()
        do {
            let log = try EventLog(storePath: store, capacity: 8_192)
            #expect(try log.append(Self.first, firstID: 10) == expected(Self.first, from: 10))
            _ = try log.append(Self.second, firstID: 13)
            #expect(try log.events() == expected(Self.first, from: 10) + expected(Self.second, from: 13))
        }  // closed without removal: what a killed daemon leaves
        #expect(try recovered(store) == expected(Self.first, from: 10) + expected(Self.second, from: 13))
        #expect(try logs(beside: store).isEmpty, "a recovered log is deleted")
    }

    @Test func aRecycledLogHoldsOnlyWhatWasAppendedAfterwards() throws {
        let store = try storePath()
        let log = try EventLog(storePath: store, capacity: 4_096 + 512)
        let many = (0..<200).map { (user: "user\($0)", item: $0, timestamp: Int64($0), weight: Double?.none) }
        _ = try log.append(many, firstID: 1)  // beyond the capacity: the file grows
        let before = log.path
        let size = try #require(try FileManager.default.attributesOfItem(atPath: before)[.size] as? Int)
        try log.recycle()
        #expect(log.path != before && !FileManager.default.fileExists(atPath: before), "renamed as a new log")
        #expect(try FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int ?? 0 >= size, "the file is kept, not cut")
        #expect(try log.events().isEmpty, "the records of the file's first use are not read")
        _ = try log.append(Self.second, firstID: 201)
        #expect(try log.events() == expected(Self.second, from: 201))
        log.remove()
        #expect(try logs(beside: store).isEmpty)
    }

    @Test(arguments: ["a flipped byte", "a cut file"])
    func aDamagedLastRecordEndsTheLog(_ damage: String) throws {
        let store = try storePath()
        let path: String
        do {
            let log = try EventLog(storePath: store, capacity: 4_096)
            _ = try log.append(Self.first, firstID: 1)
            _ = try log.append(Self.second, firstID: 4)
            path = log.path
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let end = try #require(bytes.lastIndex { $0 != 0 })  // the second record's last byte
        if damage == "a cut file" { bytes.removeLast(bytes.count - end) } else { bytes[end - 2] ^= 0x40 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try recovered(store) == expected(Self.first, from: 1))
    }

    @Test func aLogWithoutAValidHeaderHoldsNoEvents() throws {
        let store = try storePath()
        try Data(repeating: 0, count: 10_000).write(to: URL(fileURLWithPath: store + ".events-00000000000000000001-1-1"))
        #expect(try recovered(store).isEmpty)
        #expect(try logs(beside: store).isEmpty)
    }

    /// Logs an earlier version left (SQLite databases, with their WAL) are merged and removed.
    @Test func aLogAnEarlierVersionWroteIsRecovered() throws {
        let store = try storePath()
        let path = store + ".events-00000000000000000001-1-abc"
        do {
            let c = try Connection(path: path)
            try c.execute("CREATE TABLE event_log(id INTEGER PRIMARY KEY, user TEXT NOT NULL, item INTEGER NOT NULL, ts INTEGER NOT NULL, weight REAL)")
            try c.execute("INSERT INTO event_log VALUES (1, 'ana', 3, 100, NULL), (2, 'bo', 4, 101, 2.0)")
        }
        #expect(try recovered(store) == [LoggedEvent(id: 1, user: "ana", item: 3, timestamp: 100, weight: nil),
                                         LoggedEvent(id: 2, user: "bo", item: 4, timestamp: 101, weight: 2)])
        #expect(try logs(beside: store).isEmpty)
    }
}
