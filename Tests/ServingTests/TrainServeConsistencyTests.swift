import Foundation
import Hummingbird
import ModelStore
import Serving
import Store
import Testing

/// The daemon's user vector (`GET /v1/users/{id}/embedding`: the store read as it is now, one
/// user at a time) against the offline path `twotower embed --users` takes (`LoadedModel`: the
/// whole user table in one batch), given the same histories: equal within 1e-6. A feature or
/// history encoded differently on one side shows here.
@Suite struct TrainServeConsistencyTests {
    @Test func theDaemonsUserVectorIsTheOfflineOne() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let users = try store.count("users")
        // The daemon reads every interaction (any split); give the offline path the same lists.
        let histories = try (0..<users).map { try store.recentItems(of: $0, limit: 10_000).map(Int32.init) }
        let offline = try LoadedModel.load(fixture.modelPath, store: store, histories: histories).userEmbeddings()
        try await withLiveServer(fixture) { client, _ in
            for dense in stride(from: 0, to: users, by: 3) {
                let raw = try #require(try store.rawID(of: .user, dense: dense))
                try await client.execute(uri: "/v1/users/\(raw)/embedding", method: .get, headers: admin) { (r: TestResponse) async throws in
                    #expect(r.status == .ok)
                    let served = try #require(try object(r)["vector"] as? [Double])
                    let row = offline.row(dense)
                    #expect(served.count == row.count)
                    let worst = zip(served, row).map { abs($0 - Double($1)) }.max() ?? 1
                    #expect(worst <= 1e-6, "user \(raw): differs by \(worst)")
                }
            }
        }
    }
}

/// `POST /v1/search` with a user's vector and seen items gives that user's recommendations: the
/// route a router uses to ask each catalogue shard.
@Suite struct VectorSearchRouteTests {
    @Test func aUsersVectorAndSeenItemsGiveTheirRecommendations() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let store = try InteractionStore(path: fixture.storePath, create: false)
        try await withLiveServer(fixture) { client, _ in
            for user in ["user1", "user22"] {
                let dense = try #require(try store.denseID(of: .user, raw: user))
                let seen = try store.interactedItems(of: dense).map { try #require(try store.rawID(of: .item, dense: $0)) }
                let vector = try await client.execute(uri: "/v1/users/\(user)/embedding", method: .get, headers: admin) { (r: TestResponse) async throws in
                    try #require(try object(r)["vector"] as? [Double])
                }
                let expected = try await client.execute(uri: "/v1/users/\(user)/recommendations?k=7&nprobe=2", method: .get) { (r: TestResponse) async throws in
                    try ids(r)
                }
                let body = try JSONSerialization.data(withJSONObject: ["vector": vector, "exclude": seen + ["no-such-item"]])
                try await client.execute(uri: "/v1/search?k=7&nprobe=2", method: .post, body: ByteBuffer(bytes: body)) { (r: TestResponse) async throws in
                    #expect(r.status == .ok)
                    #expect(try ids(r) == expected)
                }
            }
            let short = try JSONSerialization.data(withJSONObject: ["vector": [0.5, 0.5]])
            try await client.execute(uri: "/v1/search", method: .post, body: ByteBuffer(bytes: short)) { (r: TestResponse) async throws in
                #expect(r.status == .badRequest)
                #expect(try errorField(r) == "vector")
            }
        }
    }
}
