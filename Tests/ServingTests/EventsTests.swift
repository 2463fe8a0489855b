import Foundation
import HTTPTypes
import Hummingbird
import LinearAlgebra
import Serving
import Store
import Testing

let eventsAuth: HTTPFields = [.authorization: "Bearer \(ServingFixture.eventsToken)", .contentType: "application/json"]

private func post(_ client: any TestClientProtocol, _ events: [[String: Any]]) async throws -> TestResponse {
    try await client.execute(uri: "/v1/events", method: .post, headers: eventsAuth,
                             body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: events)))
}

private func embedding(_ client: any TestClientProtocol, _ user: String) async throws -> [Float] {
    try await client.execute(uri: "/v1/users/\(user)/embedding", method: .get, headers: admin) { (r: TestResponse) async throws in
        #expect(r.status == .ok)
        return try #require(try object(r)["vector"] as? [Double]).map(Float.init)
    }
}

private func cosine(_ a: [Float], _ b: [Float]) -> Float {
    let dot = zip(a, b).map(*).reduce(0, +)
    return dot / (sqrt(a.map { $0 * $0 }.reduce(0, +)) * sqrt(b.map { $0 * $0 }.reduce(0, +)) + 1e-12)
}

/// `POST /v1/events` over real HTTP against a real store: read-your-writes, new users, refusals
/// that leave the store as it was, and group commit under concurrent requests.
@Suite(.serialized) struct EventsTests {
    @Test func theNextAnswerSeesPostedEvents() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, service in
            // user1 is in group 1 (items 15..<30); five clicks on group 3's items 45..<50.
            let posted = (45..<50).map { "item\($0)" }
            let before = try await embedding(client, "user1")
            let itemVectors = try posted.map { raw -> [Float] in
                let dense = try #require(try InteractionStore(path: fixture.storePath, create: false).denseID(of: .item, raw: raw))
                return try service.snapshot.index.vector(id: Int64(dense))
            }
            let mean = (0..<before.count).map { j in itemVectors.map { $0[j] }.reduce(0, +) / Float(itemVectors.count) }
            let r = try await post(client, posted.enumerated().map { ["user": "user1", "item": $1, "timestamp": 100 + $0] })
            #expect(r.status == .ok)
            let body = try object(r)
            #expect(body["added"] as? Int == 5)
            #expect(body["durable"] as? Bool == true)
            let after = try await embedding(client, "user1")
            #expect(cosine(after, mean) > cosine(before, mean) + 0.01, "the user vector moves toward the posted items")
            try await client.execute(uri: "/v1/users/user1/recommendations?k=20", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                #expect(Set(try ids(r)).isDisjoint(with: posted), "exclude_seen leaves the posted items out")
            }
            try await client.execute(uri: "/v1/users/user1/recommendations?k=60&exclude_seen=false", method: .get) { (r: TestResponse) async throws in
                #expect(Set(try ids(r)).isSuperset(of: posted))
            }
        }
    }

    @Test func aNewUserWithOnlyEventsGetsPersonalisedAnswers() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, _ in
            // Two users the store has never seen: one clicks group 2's items, one group 0's.
            for (user, group) in [("new-a", 2), ("new-b", 0)] {
                let r = try await post(client, (0..<6).map { ["user": user, "item": "item\(group * 15 + $0)", "timestamp": 50 + $0] })
                #expect(r.status == .ok)
                #expect(try object(r)["new_users"] as? Int == 1)
            }
            func groupShare(_ user: String, _ group: Int) async throws -> Int {
                try await client.execute(uri: "/v1/users/\(user)/recommendations?k=8", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .ok)
                    return try ids(r).filter { Int($0.dropFirst(4)).map { $0 / 15 } == group }.count
                }
            }
            // Each is recommended more of its own group's items than the other is.
            let aOwn = try await groupShare("new-a", 2), bOfA = try await groupShare("new-b", 2)
            let bOwn = try await groupShare("new-b", 0), aOfB = try await groupShare("new-a", 0)
            #expect(aOwn > bOfA)
            #expect(bOwn > aOfB)
        }
    }

    @Test func badBatchesAreRefusedWholeAndNamed() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let interactions = try store.count("interactions"), users = try store.count("users")
        try await withLiveServer(fixture) { client, _ in
            // An unknown item in the second event: nothing of the batch lands, not even the new user.
            let r = try await post(client, [["user": "brand-new", "item": "item1"], ["user": "brand-new", "item": "no-such-item"]])
            #expect(r.status == .notFound)
            #expect(try errorField(r) == "events[1].item")
            for (events, field) in [([["item": "item1"]], "events[0].user"),
                                    ([["user": "u", "item": "item1"], ["user": "u", "item": "item2", "weight": "heavy"]], "events[1].weight"),
                                    ([["user": "u", "item": "item1", "timestamp": -5]], "events[0].timestamp"),
                                    ([["user": "", "item": "item1"]], "events[0].user"),
                                    ([["user": "u", "item": "item1", "colour": "red"]], "events[0].colour"),
                                    ([[String: Any]](), "body"),
                                    (Array(repeating: ["user": "u", "item": "item1"], count: EventWriter.maxBatch + 1), "body")] as [([[String: Any]], String)] {
                let r = try await post(client, events)
                #expect(r.status == .badRequest)
                #expect(try errorField(r) == field)
            }
            try await client.execute(uri: "/v1/events", method: .post, headers: eventsAuth, body: ByteBuffer(string: #"{"user": "u", "item": "item1"}"#)) { (r: TestResponse) async throws in
                #expect(r.status == .badRequest)
                #expect(try errorField(r) == "body")
            }
            // The admin token is not the events token.
            try await client.execute(uri: "/v1/events", method: .post, headers: admin, body: ByteBuffer(string: #"[{"user": "u", "item": "item1"}]"#)) { (r: TestResponse) async throws in
                #expect(r.status == .unauthorized)
            }
        }
        #expect(try store.count("interactions") == interactions)
        #expect(try store.count("users") == users)
    }

    @Test func theRouteIsOffWithoutItsToken() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        var options = fixture.options
        options.eventsToken = nil
        let service = try RecommendationService(options: options)
        defer { service.shutdown() }
        try await Daemon(service: service).application().test(.live) { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: eventsAuth, body: ByteBuffer(string: #"[{"user": "u", "item": "item1"}]"#)) { (r: TestResponse) async throws in
                #expect(r.status == .unauthorized)
            }
        }
    }

    @Test func concurrentBatchesAllLandOnce() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let before = try store.count("interactions")
        try await withLiveServer(fixture) { client, _ in
            // 40 requests at once, 25 distinct events each; then the same 40 again (duplicates).
            for round in 0..<2 {
                let added = try await withThrowingTaskGroup(of: Int.self) { group in
                    for n in 0..<40 {
                        group.addTask {
                            let r = try await post(client, (0..<25).map { ["user": "stream\(n)", "item": "item\($0 + 10)", "timestamp": 1_000 + $0] })
                            #expect(r.status == .ok)
                            return try object(r)["added"] as? Int ?? -1
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(added == (round == 0 ? 1_000 : 0))
            }
            // The writer's phases are measured: every batch's wait, every commit's duration.
            try await client.execute(uri: "/metrics", method: .get) { (r: TestResponse) async throws in
                let text = String(buffer: r.body)
                func value(_ name: String) -> Double? {
                    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
                }
                #expect(value("twotower_event_queue_wait_seconds_count") == 80)
                #expect(value("twotower_event_request_duration_seconds_count") == 80)
                let commits = try #require(value("twotower_event_commits_total"))
                #expect(commits >= 1 && commits <= 80)
                #expect(value("twotower_event_commit_duration_seconds_count") == commits)
            }
        }
        #expect(try store.count("interactions") == before + 1_000)
    }
}
