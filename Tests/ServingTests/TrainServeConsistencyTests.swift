import Foundation
import HummingbirdTesting
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
