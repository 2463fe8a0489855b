import Foundation
import HTTPTypes
import Hummingbird
import Serving
import Testing

/// Decodes a response body as a JSON object.
func object(_ response: TestResponse) throws -> [String: Any] {
    let data = Data(buffer: response.body)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not a JSON object: \(String(decoding: data, as: UTF8.self))")
}

func errorField(_ response: TestResponse) throws -> String? {
    (try object(response)["error"] as? [String: Any])?["field"] as? String
}

func ids(_ response: TestResponse) throws -> [String] {
    try #require(try object(response)["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
}

let admin: HTTPFields = [.authorization: "Bearer \(ServingFixture.token)"]

/// Runs `test` against the daemon's real HTTP server on an ephemeral loopback port.
func withLiveServer(_ fixture: ServingFixture, _ test: @escaping @Sendable (any TestClientProtocol, RecommendationService) async throws -> Void) async throws {
    let service = try RecommendationService(options: fixture.options)
    defer { service.shutdown() }
    try await Daemon(service: service).application().test(.live) { client in try await test(client, service) }
}

@Suite(.serialized) struct RouteTests {
    @Test func everyRouteAnswersOverHTTP() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, service in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                #expect(try object(r)["model_version"] as? String == service.snapshot.modelVersion)
            }
            // A user's top-K: k items, named versions, none the user has seen.
            try await client.execute(uri: "/v1/users/user1/recommendations?k=5", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                let body = try object(r)
                #expect(body["index_version"] as? String == service.snapshot.indexVersion)
                #expect((body["took_ms"] as? Double ?? -1) >= 0)
                let items = try ids(r)
                #expect(items.count == 5)
                // user1 is in group 1 and has seen items of 15..<30 only.
                let seen: Set<String> = Set((0..<8).map { "item\(15 + (1 * 7 + $0 * 3) % 15)" })
                #expect(seen.isDisjoint(with: items))
            }
            try await client.execute(uri: "/v1/users/user1/recommendations?k=60&exclude_seen=false", method: .get) { (r: TestResponse) async throws in
                #expect(try ids(r).count == 60)
            }
            // Filtered to one genre.
            try await client.execute(uri: "/v1/users/user2/recommendations?k=5&filter=genre:g3", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                #expect(try ids(r).allSatisfy { Int($0.dropFirst(4))! / 15 == 3 })
            }
            // Cold start from features and recent items.
            let cold = ByteBuffer(string: #"{"features": {"age": 31}, "recent_items": ["item0", "item1", "item2"]}"#)
            try await client.execute(uri: "/v1/recommendations?k=4", method: .post, body: cold) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                let items = try ids(r)
                #expect(items.count == 4 && !items.contains("item0") && !items.contains("item2"))
            }
            try await client.execute(uri: "/v1/items/item3/similar?k=3", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                let items = try ids(r)
                #expect(items.count == 3 && !items.contains("item3"))
            }
            // Admin: a new item with an explicit vector, found by its own vector, then deleted.
            let vector = try await client.execute(uri: "/v1/items/item7/similar?k=1", method: .get) { _ in
                try service.snapshot.index.vector(id: 7)
            }
            let put = ByteBuffer(string: "{\"vector\": [\(vector.map { "\($0)" }.joined(separator: ","))]}")
            try await client.execute(uri: "/v1/items/brand-new/", method: .put, headers: admin, body: put) { (r: TestResponse) async throws in
                #expect(r.status == .created)
            }
            try await client.execute(uri: "/v1/items/item7/similar?k=1&nprobe=4", method: .get) { (r: TestResponse) async throws in
                #expect(try ids(r) == ["brand-new"])  // the identical vector is item7's nearest
            }
            try await client.execute(uri: "/v1/items/brand-new", method: .put, headers: admin,
                                     body: ByteBuffer(string: #"{"features": {"genre": "g0"}}"#)) { (r: TestResponse) async throws in
                #expect(r.status == .ok)  // replaced, embedded by the item tower from its features
            }
            try await client.execute(uri: "/v1/items/brand-new", method: .delete, headers: admin) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/items/brand-new/similar", method: .get) { (r: TestResponse) async throws in
                let field = try errorField(r)
                #expect(r.status == .notFound && field == "id")
            }
            try await client.execute(uri: "/v1/items/brand-new", method: .delete, headers: admin) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { (r: TestResponse) async throws in
                let text = String(buffer: r.body)
                #expect(text.contains(#"twotower_http_requests_total{route="/v1/users/{id}/recommendations",method="GET",status="200"}"#))
                #expect(text.contains("twotower_http_request_duration_seconds_bucket"))
                #expect(text.contains("twotower_http_requests_in_flight"))
                #expect(text.contains("twotower_queue_rejections_total"))
                #expect(text.contains("twotower_model_version_info{version=\"\(service.snapshot.modelVersion)\"} 1"))
            }
        }
    }

    @Test func badInputIsA4xxNamingTheField() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, _ in
            let cases: [(String, HTTPRequest.Method, HTTPFields, String?, HTTPResponse.Status, String?)] = [
                ("/v1/users/user1/recommendations?k=0", .get, [:], nil, .badRequest, "k"),
                ("/v1/users/user1/recommendations?k=1001", .get, [:], nil, .badRequest, "k"),
                ("/v1/users/user1/recommendations?k=ten", .get, [:], nil, .badRequest, "k"),
                ("/v1/users/user1/recommendations?nprobe=0", .get, [:], nil, .badRequest, "nprobe"),
                ("/v1/users/user1/recommendations?nprobe=5", .get, [:], nil, .badRequest, "nprobe"),  // the index has 4 lists
                ("/v1/users/user1/recommendations?exclude_seen=maybe", .get, [:], nil, .badRequest, "exclude_seen"),
                ("/v1/users/user1/recommendations?filter=genre", .get, [:], nil, .badRequest, "filter"),
                ("/v1/users/user1/recommendations?filter=colour:red", .get, [:], nil, .badRequest, "filter"),
                ("/v1/users/user1/recommendations?filter=genre:g9", .get, [:], nil, .badRequest, "filter"),
                ("/v1/users/user1/recommendations?top=3", .get, [:], nil, .badRequest, "top"),
                ("/v1/users/nobody/recommendations", .get, [:], nil, .notFound, "id"),
                ("/v1/items/nothing/similar", .get, [:], nil, .notFound, "id"),
                ("/v1/recommendations", .post, [:], "{not json", .badRequest, "body"),
                ("/v1/recommendations", .post, [:], "[1, 2]", .badRequest, "body"),
                ("/v1/recommendations", .post, [:], "{}", .badRequest, "body"),
                ("/v1/recommendations", .post, [:], #"{"recent_items": "item1"}"#, .badRequest, "recent_items"),
                ("/v1/recommendations", .post, [:], #"{"recent_items": ["nothing"]}"#, .notFound, "recent_items[0]"),
                ("/v1/recommendations", .post, [:], #"{"features": {"height": 3}}"#, .badRequest, "features.height"),
                ("/v1/recommendations", .post, [:], #"{"features": {"age": "old"}}"#, .badRequest, "features.age"),
                ("/v1/recommendations", .post, [:], #"{"users": []}"#, .badRequest, "users"),
                ("/v1/items/x", .put, admin, #"{"vector": [1, 2, 3]}"#, .badRequest, "vector"),
                ("/v1/items/x", .put, admin, #"{"vector": [1, 2, 3, 4, 5, 6, 7, "8"]}"#, .badRequest, "vector[7]"),
                ("/v1/items/x", .put, admin, #"{"vector": [1], "features": {}}"#, .badRequest, "body"),
                ("/v1/items/x", .put, [:], #"{"vector": [1]}"#, .unauthorized, nil),
                ("/v1/items/x", .put, [.authorization: "Bearer wrong"], #"{"vector": [1]}"#, .unauthorized, "Authorization"),
                ("/v1/items/item1", .delete, [:], nil, .unauthorized, nil),
                ("/v1/admin/reload", .post, [:], nil, .unauthorized, nil),
                ("/v1/nowhere", .get, [:], nil, .notFound, nil),
            ]
            for (uri, method, headers, body, status, field) in cases {
                try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { (r: TestResponse) async throws in
                    #expect(r.status == status, "\(method) \(uri) \(body ?? "")")
                    #expect(r.headers[.contentType] == "application/json", "\(uri)")
                    if let field { #expect(try errorField(r) == field, "\(method) \(uri) \(body ?? "")") }
                }
            }
            // Over 1 MiB.
            let big = ByteBuffer(string: "{\"recent_items\": [" + String(repeating: "\"item1\",", count: 150_000) + "\"item1\"]}")
            try await client.execute(uri: "/v1/recommendations", method: .post, body: big) { (r: TestResponse) async throws in
                #expect(r.status == .contentTooLarge)
            }
        }
    }

    @Test func withoutATokenAdminRoutesAreOff() async throws {
        var fixture = try ServingFixture()
        defer { fixture.remove() }
        var options = fixture.options
        options.adminToken = nil
        fixture = ServingFixture(copying: fixture, options: options)
        try await withLiveServer(fixture) { client, _ in
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: admin) { (r: TestResponse) async throws in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("disabled"))
            }
        }
    }
}

extension ServingFixture {
    init(copying other: ServingFixture, options: ServingOptions) {
        self.directory = other.directory
        self.options = options
    }
}
