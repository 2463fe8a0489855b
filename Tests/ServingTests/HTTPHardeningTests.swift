import Foundation
import HTTPTypes
import Hummingbird
import Model
import Serving
import Store
import Testing

/// What a fault probe found in the daemon's HTTP handling, each case over a real loopback server.
@Suite(.serialized) struct HTTPHardeningTests {
    static let trickyUsers = ["a b", "x/y", "é", "q?x", "u#1", "100%", "../../evil"]
    static let trickyItems = ["it em", "a/b", "€", "p?q", "h#1", "50%", "日本"]

    static func encoded(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))!
    }

    @Test func idsWithReservedAndNonASCIICharactersArePercentDecoded() async throws {
        let fixture = try ServingFixture(extraUsers: Self.trickyUsers, extraItems: Self.trickyItems)
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, _ in
            for user in Self.trickyUsers {
                try await client.execute(uri: "/v1/users/\(Self.encoded(user))/recommendations?k=3", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .ok, "user '\(user)': \(String(buffer: r.body))")
                }
            }
            for item in Self.trickyItems {
                try await client.execute(uri: "/v1/items/\(Self.encoded(item))/similar?k=3", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .ok, "item '\(item)': \(String(buffer: r.body))")
                    #expect(try !ids(r).contains(item))
                }
            }
            // Answers name such items exactly as stored, and a PUT stores the decoded id.
            let body = ByteBuffer(string: #"{"features": {"genre": "g1"}}"#)
            try await client.execute(uri: "/v1/items/..%2F..%2Fnew%20one", method: .put, headers: admin, body: body) { (r: TestResponse) async throws in
                let stored = try object(r)["id"] as? String
                #expect(r.status == .created && stored == "../../new one")
            }
            try await client.execute(uri: "/v1/items/..%2F..%2Fnew%20one/similar?k=2", method: .get) { #expect($0.status == .ok) }
            #expect(try InteractionStore(path: fixture.storePath, create: false).denseID(of: .item, raw: "../../new one") != nil)
            try await client.execute(uri: "/v1/items/%ZZ/similar", method: .get) { (r: TestResponse) async throws in
                let field = try errorField(r)
                #expect(r.status == .badRequest && field == "id")
            }
        }
    }

    @Test func kAnswersWithoutAFilterAtNprobeOne() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, _ in
            try await client.execute(uri: "/v1/users/user1/recommendations?k=60&exclude_seen=false&nprobe=1", method: .get) { (r: TestResponse) async throws in
                #expect(try ids(r).count == 60)
            }
            try await client.execute(uri: "/v1/items/item1/similar?k=59&nprobe=1", method: .get) { (r: TestResponse) async throws in
                #expect(try ids(r).count == 59)
            }
        }
    }

    @Test func aUserNewerThanTheModelIsEmbeddedFromHistoryOrRefused() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        // Ingested after training: one user with history, one with nothing.
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let (fresh, _) = try store.ensure(.user, raw: "late-user")
        _ = try store.ensure(.user, raw: "empty-user")
        try StoreJobsForTests.addInteractions(store: store, user: fresh, items: (0..<4).map { try store.denseID(of: .item, raw: "item\($0)")! })
        try await withLiveServer(fixture) { client, _ in
            try await client.execute(uri: "/v1/users/late-user/recommendations?k=5", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .ok)
                let body = try object(r)
                let scores = (body["items"] as? [[String: Any]] ?? []).compactMap { $0["score"] as? Double }
                #expect(scores.count == 5 && scores.allSatisfy { $0 != 0 }, "a real embedding, not a zero vector: \(scores)")
            }
            try await client.execute(uri: "/v1/users/empty-user/recommendations?k=5", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .conflict)
                let code = try (object(r)["error"] as? [String: Any])?["code"] as? String
                #expect(code == "cold_user")
            }
        }
        // An id-only model cannot embed a newer user at all, nor an item from features.
        let idOnly = try ServingFixture(idOnly: true)
        defer { idOnly.remove() }
        let idStore = try InteractionStore(path: idOnly.storePath, create: false)
        let (late, _) = try idStore.ensure(.user, raw: "late-user")
        try StoreJobsForTests.addInteractions(store: idStore, user: late, items: [0, 1])
        try await withLiveServer(idOnly) { client, _ in
            try await client.execute(uri: "/v1/users/late-user/recommendations", method: .get) { #expect($0.status == .conflict) }
            try await client.execute(uri: "/v1/items/brand-new", method: .put, headers: admin,
                                     body: ByteBuffer(string: #"{"features": {}}"#)) { (r: TestResponse) async throws in
                let field = try errorField(r)
                #expect(r.status == .badRequest && field == "features")
            }
        }
    }

    @Test func methodsQueriesAndReloadsAnswerAsDocumented() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, service in
            try await client.execute(uri: "/v1/recommendations", method: .get) { (r: TestResponse) async throws in
                #expect(r.status == .methodNotAllowed && r.headers[.allow] == "POST")
                let code = try (object(r)["error"] as? [String: Any])?["code"] as? String
                #expect(code == "method_not_allowed")
            }
            try await client.execute(uri: "/v1/items/item1", method: .post) { #expect($0.status == .methodNotAllowed && $0.headers[.allow] == "PUT, DELETE") }
            try await client.execute(uri: "/v1/users/user1/recommendations?k=5&k=6", method: .get) { (r: TestResponse) async throws in
                let field = try errorField(r)
                #expect(r.status == .badRequest && field == "k")
            }
            // A checkpoint with NaN weights: the reload answers 409 with the documented error shape,
            // and the old pair keeps serving.
            let before = service.snapshot.modelVersion
            let path = Checkpoint.file(in: fixture.modelPath)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for i in (bytes.count - 200)..<(bytes.count - 8) { bytes[i] = 0xFF }
            try bytes.write(to: URL(fileURLWithPath: path))
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: admin) { (r: TestResponse) async throws in
                #expect(r.status == .conflict)
                let error = try #require(try object(r)["error"] as? [String: Any])
                #expect(error.keys.sorted() == ["code", "field", "message"] && error["field"] as? String == "model")
            }
            try await client.execute(uri: "/v1/users/user3/recommendations", method: .get) { (r: TestResponse) async throws in
                let version = try object(r)["model_version"] as? String
                #expect(r.status == .ok && version == before)
            }
        }
    }

    @Test func rawConnectionsAreAnsweredAndClosedAsTheyShouldBe() async throws {
        var fixture = try ServingFixture()
        defer { fixture.remove() }
        var options = fixture.options
        // Long enough that a loaded machine (the whole suite runs at once) reads every request's
        // head before it fires, short enough to watch it close a half-sent one.
        options.idleTimeout = .seconds(3)
        fixture = ServingFixture(copying: fixture, options: options)
        try await withLiveServer(fixture) { client, service in
            let port = try #require(client.port)
            // A declared body over the limit is refused from the header alone.
            let lying = try RawConnection(port: port)
            // (No body bytes are sent: unread bytes at the server's close could reset the connection
            // before the answer is read.)
            lying.send("POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
            let raw = lying.receiveAll(seconds: 5)
            let big = parse(raw)
            #expect(big.status == 413 && (big.body["error"] as? [String: Any])?["field"] as? String == "body")
            // A client that goes away mid-body is counted as a client abort, not a 5xx.
            let quitter = try RawConnection(port: port)
            quitter.send("POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"recent_items\": [")
            try await Task.sleep(for: .milliseconds(200))
            quitter.abort()
            // A header never finished is closed once the idle timeout passes.
            let idle = try RawConnection(port: port)
            idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            #expect(idle.closedByServer(within: 10), "a half-sent request must not hold the connection")
            // Oversized request lines and headers get the JSON error body.
            let longLine = try RawConnection(port: port)
            longLine.send("GET /v1/items/\(String(repeating: "x", count: 100_000))/similar HTTP/1.1\r\nHost: x\r\n\r\n")
            let tooLong = parse(longLine.receiveAll())
            #expect([414, 431].contains(tooLong.status) && (tooLong.body["error"] as? [String: Any])?["code"] != nil, "\(tooLong)")
            let longHeader = try RawConnection(port: port)
            longHeader.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "y", count: 200_000))\r\n\r\n")
            let headers = parse(longHeader.receiveAll())
            #expect(headers.status == 431 && headers.headers["content-type"] == "application/json", "\(headers)")
            try await Task.sleep(for: .milliseconds(300))
            let metrics = service.metrics.render()
            #expect(metrics.contains(#"status="499""#), "the abort is counted as 499: \(metrics.split(separator: "\n").filter { $0.contains("http_requests_total") })")
            #expect(!metrics.contains(#"status="500""#), "no false 5xx")
            // (The test client's own connection has been idle past the timeout too: a fresh one.)
            let health = try RawConnection(port: port)
            health.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(parse(health.receiveAll()).status == 200)
            // Keep-alive: two requests on one connection are both answered, in order (the test
            // client opens a connection per request, so this is where reuse is checked).
            let reused = try RawConnection(port: port)
            reused.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let both = reused.receiveAll()
            #expect(both.components(separatedBy: "HTTP/1.1 200").count - 1 == 2, "\(both.prefix(600))")
        }
    }
}

/// Interactions written after training, as a later ingest would.
enum StoreJobsForTests {
    static func addInteractions(store: InteractionStore, user: Int, items: [Int]) throws {
        try store.write {
            let w = try StoreWriter(store: store)
            for (t, item) in items.enumerated() { try w.addInteraction(user: user, item: item, timestamp: Int64(100 + t), weight: nil) }
        }
    }
}
