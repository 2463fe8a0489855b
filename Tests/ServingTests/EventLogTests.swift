import Foundation
import HTTPTypes
import Hummingbird
import ModelStore
import Serving
import SQLite
import Store
import Testing

private func post(_ client: any TestClientProtocol, _ body: String) async throws -> TestResponse {
    try await client.execute(uri: "/v1/events", method: .post, headers: eventsAuth, body: ByteBuffer(string: body))
}

private func embedding(_ client: any TestClientProtocol, _ user: String) async throws -> [Float] {
    try await client.execute(uri: "/v1/users/\(user)/embedding", method: .get, headers: admin) { (r: TestResponse) async throws in
        #expect(r.status == .ok)
        return try #require(try object(r)["vector"] as? [Double]).map(Float.init)
    }
}

/// The event logs beside a store.
private func logFiles(_ fixture: ServingFixture) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter { $0.hasPrefix("store.sqlite.events-") }
}

private func logCount(_ fixture: ServingFixture) throws -> Int { try logFiles(fixture).count }

private final class Box: @unchecked Sendable { var value: [[Float]] = [] }

/// The event log: accepted events are durable in it, visible at once, and merged into the
/// store's interactions later; a log left by a daemon that died is merged by the next one.
@Suite(.serialized) struct EventLogTests {
    @Test func aHistoryMergesPendingEventsInTheStoresOrderAndCountsEachOnce() {
        // Stored newest first; pending oldest first, one of them (item 4 at 20) already stored and
        // one (item 7 at 25) posted twice.
        let stored: [(item: Int, timestamp: Int64?)] = [(5, 30), (4, 20), (3, 10), (2, nil)]
        let pending: [(item: Int, timestamp: Int64)] = [(7, 25), (4, 20), (8, 40), (9, 30), (7, 25)]
        // Newest first: 8 (40), 9 (30: a pending event was written after every stored row, so
        // among equal times it is the newer), 5 (30), 7 (25), 4 (20, once), 3 (10), 2 (no time).
        #expect(OnlineInputs.history(stored: stored, pending: pending, limit: 5) == [4, 7, 5, 9, 8])
        #expect(OnlineInputs.history(stored: stored, pending: pending, limit: 10) == [2, 3, 4, 7, 5, 9, 8])
        #expect(OnlineInputs.history(stored: [], pending: pending, limit: 2) == [9, 8])
        #expect(OnlineInputs.history(stored: stored, pending: [], limit: 3) == [3, 4, 5])
    }

    @Test func aUsersVectorIsTheSameBeforeAndAfterTheMerge() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let before = try InteractionStore(path: fixture.storePath, create: false).count("interactions")
        // A merge far away: the events stay pending while the first daemon answers.
        var options = fixture.options
        options.eventsMergeEvents = 1_000_000
        options.eventsMergeInterval = .seconds(3_600)
        let pendingVectors = Box()
        try await withLiveServer(ServingFixture(copying: fixture, options: options)) { client, _ in
            // Two clicks of user1's and two of a user the store lacks.
            let r = try await post(client, #"[{"user":"user1","item":"item47","timestamp":500},{"user":"user1","item":"item48","timestamp":400},"#
                                    + #"{"user":"fresh","item":"item50","timestamp":7},{"user":"fresh","item":"item51","timestamp":8}]"#)
            #expect(r.status == .ok)
            #expect(try object(r)["added"] as? Int == 4)
            #expect(try object(r)["new_users"] as? Int == 1)
            #expect(try logFiles(fixture).count >= 1, "the daemon writes its own log beside the store")
            #expect(try InteractionStore(path: fixture.storePath, create: false).count("interactions") == before, "not merged yet")
            // Repeats of pending events are duplicates.
            let again = try await post(client, #"[{"user":"fresh","item":"item50","timestamp":7}]"#)
            #expect(try object(again)["duplicates"] as? Int == 1)
            #expect(try object(again)["new_users"] as? Int == 0)
            pendingVectors.value = [try await embedding(client, "user1"), try await embedding(client, "fresh")]
        }
        // The daemon stopped: everything it accepted is in the store and its log is gone.
        #expect(try InteractionStore(path: fixture.storePath, create: false).count("interactions") == before + 4)
        #expect(try logFiles(fixture).isEmpty)
        try await withLiveServer(fixture) { client, _ in
            let stored = [try await embedding(client, "user1"), try await embedding(client, "fresh")]
            #expect(pendingVectors.value.count == 2)
            for (user, (a, b)) in zip(["user1", "fresh"], zip(pendingVectors.value, stored)) {
                #expect(a.count == b.count)
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(user): pending events and the same events merged give one vector")
            }
        }
    }

    @Test func eventsAreMergedWhileTheDaemonRunsAndStayVisible() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let before = try store.count("interactions")
        var options = fixture.options
        options.eventsMergeEvents = 10
        options.eventsMergeInterval = .seconds(3_600)
        try await withLiveServer(ServingFixture(copying: fixture, options: options)) { client, _ in
            let posted = (40..<55).map { "item\($0)" }
            for (round, items) in [Array(posted[0..<5]), Array(posted[5..<10]), Array(posted[10...])].enumerated() {
                let body = "[" + items.enumerated().map { #"{"user":"user2","item":"\#($1)","timestamp":\#(1_000 + round * 10 + $0)}"# }
                    .joined(separator: ",") + "]"
                #expect(try await post(client, body).status == .ok)
            }
            // Ten pending events start a merge; it runs beside the daemon. The merged log is
            // recycled just after the merge commits, so wait for both.
            let deadline = ContinuousClock.now + .seconds(20)
            while try store.count("interactions") < before + 10 || logCount(fixture) != 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try store.count("interactions") >= before + 10, "merged while the daemon runs")
            #expect(try logCount(fixture) == 2, "the log being written and the merged one, recycled for the next merge")
            // Whether each event is merged or still pending, the answer leaves all of them out.
            try await client.execute(uri: "/v1/users/user2/recommendations?k=20", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                #expect(Set(try ids(r)).isDisjoint(with: posted))
            }
        }
        #expect(try store.count("interactions") == before + 15)
        #expect(try logFiles(fixture).isEmpty)
    }

    @Test func aLogLeftByADeadDaemonIsMergedByTheNext() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let before = try store.count("interactions")
        let item = try #require(try store.denseID(of: .item, raw: "item3"))
        do {
            // What a killed daemon leaves: a log with acknowledged events, no merge, no removal.
            let log = try EventLog(storePath: fixture.storePath)
            _ = try log.append([("ghost", item, 11, nil), ("ghost", item + 1, 12, 2.0), ("user2", item, 13, nil)], firstID: 1)
        }
        #expect(try logFiles(fixture).count >= 1)
        try await withLiveServer(fixture) { client, _ in
            try await client.execute(uri: "/v1/users/ghost/recommendations?k=5", method: .get) { #expect($0.status == .ok) }
        }
        #expect(try store.count("interactions") == before + 3)
        #expect(try store.denseID(of: .user, raw: "ghost") != nil)
        #expect(try logFiles(fixture).isEmpty)
    }

    @Test func batchesAreRefusedWhileTooManyEventsWaitForAMerge() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let writer = try EventWriter(storePath: fixture.storePath, mergeEvents: 1_000_000, mergeInterval: .seconds(3_600),
                                     maxPending: 5, metrics: ServingMetrics())
        defer { writer.stop() }
        let five = (0..<5).map { NewEvent(user: "u\($0)", item: "item\($0)", timestamp: 1) }
        #expect(try await writer.append(five).added == 5)
        do {
            _ = try await writer.append([NewEvent(user: "u9", item: "item9", timestamp: 1)])
            Issue.record("a sixth pending event was accepted")
        } catch let error as APIError {
            #expect(error.status == .serviceUnavailable)
        }
    }

    @Test func aLogHeldByALiveDaemonIsLeftAlone() throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let item = try #require(try store.denseID(of: .item, raw: "item3"))
        let held = try EventLog(storePath: fixture.storePath)
        _ = try held.append([("someone", item, 1, nil)], firstID: 1)
        var merged = 0
        let recovered = try EventLog.recoverAbandoned(storePath: fixture.storePath) { merged += $0.count }
        #expect(recovered == 0 && merged == 0)
        #expect(try held.count() == 1)
        held.remove()
        #expect(try logFiles(fixture).isEmpty)
    }

    /// A merge that cannot write the store (another writer holds its lock past the busy timeout)
    /// rolls back and keeps its log; batches are still accepted meanwhile, and once the lock is
    /// free a later merge takes the kept events and deletes the kept log too.
    @Test func aFailedMergeIsRetriedAndItsLogDeletedAfterwards() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let before = try store.count("interactions")
        let metrics = ServingMetrics()
        func failures() -> Int {
            metrics.render().split(separator: "\n").first { $0.hasPrefix("twotower_event_merge_failures_total ") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let blocker = try Connection(path: fixture.storePath)
        try blocker.execute("BEGIN IMMEDIATE")
        let writer = try EventWriter(storePath: fixture.storePath, mergeEvents: 3, mergeInterval: .seconds(3_600), metrics: metrics)
        defer { writer.stop() }
        let three = (0..<3).map { NewEvent(user: "u\($0)", item: "item\($0)", timestamp: 1) }
        #expect(try await writer.append(three).added == 3)
        var deadline = ContinuousClock.now + .seconds(30)
        while failures() == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(failures() >= 1, "the merge gave up on the locked store")
        #expect(try store.count("interactions") == before)
        #expect(try await writer.append([NewEvent(user: "u9", item: "item9", timestamp: 2)]).added == 1, "accepted while merges fail")
        try blocker.execute("ROLLBACK")
        deadline = ContinuousClock.now + .seconds(30)
        while try store.count("interactions") < before + 3 || logCount(fixture) != 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try store.count("interactions") >= before + 3, "the kept events merged once the lock was free")
        #expect(try logCount(fixture) == 2, "the kept logs are deleted after that merge; the one being written and the recycled one stay")
        writer.stop()
        #expect(try store.count("interactions") == before + 4)
        #expect(try logFiles(fixture).isEmpty)
    }
}
