import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import LinearAlgebra
import ModelStore
import Pipeline
import Serving
import Store
import Testing
import VectorIndex

/// Router mode over real shard daemons on loopback: the catalogue split in two by raw-id hash,
/// each half an exact index served by its own daemon, the router in front.
@Suite(.serialized) struct RouterTests {
    /// Exact indexes of the fixture's item embeddings: the whole catalogue, and its two shards.
    static func indexes(_ fixture: ServingFixture) throws -> (whole: String, shards: [String]) {
        let store = try InteractionStore(path: fixture.storePath, create: false)
        let items = try LoadedModel.load(fixture.modelPath, store: store).itemEmbeddings()
        var parameters = BuildParameters(nlist: 1)
        parameters.layout = .exact
        parameters.calibration = nil
        let whole = fixture.directory + "/whole"
        _ = try IndexBuilder.build(vectors: items, parameters: parameters, into: whole)
        var shards: [String] = []
        for i in 0..<2 {
            let shard = try Shard(index: i, count: 2)
            var ids: [Int64] = [], values: [Float] = []
            for r in 0..<items.rows where shard.contains(try #require(try store.rawID(of: .item, dense: r))) {
                ids.append(Int64(r))
                values += items.row(r)
            }
            let path = fixture.directory + "/shard\(i)"
            _ = try IndexBuilder.build(vectors: Matrix(rows: ids.count, cols: items.cols, values: values), ids: ids, parameters: parameters, into: path)
            shards.append(path)
        }
        return (whole, shards)
    }

    /// Runs `body` with the two shard daemons live, given the router's options over them.
    static func withShardDaemons(_ fixture: ServingFixture, _ shardPaths: [String],
                                 _ body: @escaping @Sendable (ShardRouter.Options) async throws -> Void) async throws {
        let services = try shardPaths.map { path -> RecommendationService in
            var options = fixture.options
            options.indexPath = path
            return try RecommendationService(options: options)
        }
        defer { for s in services { s.shutdown() } }
        let second = services[1]
        try await Daemon(service: services[0]).whileRunning { portA in
            try await Daemon(service: second).whileRunning { portB in
                var options = ShardRouter.Options(storePath: fixture.storePath, modelPath: fixture.modelPath,
                                                  shards: ["http://127.0.0.1:\(portA)", "http://127.0.0.1:\(portB)"])
                options.port = 0
                options.shardTimeout = .seconds(5)
                try await body(options)
            }
        }
    }

    @Test func theRouterAnswersAsOneExactIndexAndSaysWhenAShardIsMissing() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let (whole, shardPaths) = try Self.indexes(fixture)
        // The reference: every user's top 8 through the whole catalogue's exact index.
        let reference = fixture.directory + "/reference.csv"
        var job = RecommendJob(store: fixture.storePath, model: fixture.modelPath, index: whole, out: reference)
        job.k = 8
        _ = try job.run()
        var table: [String: [(String, Float)]] = [:]
        for line in try String(contentsOfFile: reference, encoding: .utf8).split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            table[f[0], default: []].append((f[2], Float(f[3])!))
        }
        let expected = table
        try await Self.withShardDaemons(fixture, shardPaths) { options in
            let router = try ShardRouter(options: options)
            defer { router.shutdown() }
            try await RouterDaemon(router: router).application().test(.live) { client in
                for (user, rows) in expected.sorted(by: { $0.key < $1.key }) {
                    try await client.execute(uri: "/v1/users/\(user)/recommendations?k=8", method: .get) { (r: TestResponse) async throws in
                        #expect(r.status == .ok)
                        let body = try object(r)
                        #expect(body["partial"] as? Bool == false)
                        let items = try #require(body["items"] as? [[String: Any]])
                        #expect(items.compactMap { $0["id"] as? String } == rows.map(\.0), "user \(user)")
                        for (item, row) in zip(items, rows) { #expect(abs((item["score"] as? Double ?? 9) - Double(row.1)) < 1e-5) }
                    }
                }
            }
            // A third shard that is down and a fourth that accepts connections but never answers:
            // answers still come, by the deadline, marked partial and naming both.
            let silent = try SilentListener()
            defer { silent.close() }
            var withDead = options
            withDead.shards += ["http://127.0.0.1:1", "http://127.0.0.1:\(silent.port)"]
            withDead.shardTimeout = .milliseconds(300)
            let partialRouter = try ShardRouter(options: withDead)
            defer { partialRouter.shutdown() }
            try await RouterDaemon(router: partialRouter).application().test(.live) { client in
                let started = ContinuousClock.now
                try await client.execute(uri: "/v1/users/user3/recommendations?k=8", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .ok)
                    let body = try object(r)
                    #expect(body["partial"] as? Bool == true)
                    #expect(body["missing_shards"] as? [String] == ["http://127.0.0.1:1", "http://127.0.0.1:\(silent.port)"])
                    #expect(ContinuousClock.now - started < .seconds(3), "the silent shard is given up at the deadline")
                    #expect(try #require(body["items"] as? [[String: Any]]).compactMap { $0["id"] as? String } == expected["user3"]!.map(\.0))
                }
                try await client.execute(uri: "/metrics", method: .get) { (r: TestResponse) async throws in
                    #expect(String(buffer: r.body).contains("twotower_partial_answers_total 1"))
                }
                try await client.execute(uri: "/v1/users/nobody/recommendations", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .notFound)
                }
            }
        }
    }

    /// Events posted to the router are in its users' next answers: the posted items are left out,
    /// and a user known only from those events is answered (embedded from them), not refused.
    @Test func eventsPostedToTheRouterAreInItsNextAnswers() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        let (_, shardPaths) = try Self.indexes(fixture)
        try await Self.withShardDaemons(fixture, shardPaths) { shardOptions in
            var options = shardOptions
            options.eventsToken = ServingFixture.eventsToken
            let router = try ShardRouter(options: options)
            defer { router.shutdown() }
            try await RouterDaemon(router: router).application().test(.live) { client in
                func top(_ user: String) async throws -> [String] {
                    try await client.execute(uri: "/v1/users/\(user)/recommendations?k=8", method: .get) { (r: TestResponse) async throws in
                        #expect(r.status == .ok, "user \(user)")
                        return try #require(try object(r)["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                    }
                }
                func post(_ body: String) async throws -> TestResponse {
                    try await client.execute(uri: "/v1/events", method: .post, headers: eventsAuth, body: ByteBuffer(string: body))
                }
                let before = try await top("user3")
                let clicked = Array(before.prefix(3))
                #expect(clicked.count == 3)
                let body = "[" + clicked.enumerated().map { #"{"user":"user3","item":"\#($1)","timestamp":\#(9_000 + $0)}"# }.joined(separator: ",") + "]"
                #expect(try await post(body).status == .ok)
                let after = try await top("user3")
                #expect(after.count == 8)
                #expect(Set(after).isDisjoint(with: clicked), "the posted items are seen now")
                try await client.execute(uri: "/v1/users/router-newcomer/recommendations", method: .get) { #expect($0.status == .notFound) }
                #expect(try await post(#"[{"user":"router-newcomer","item":"item5","timestamp":1},{"user":"router-newcomer","item":"item6","timestamp":2}]"#).status == .ok)
                let newcomer = try await top("router-newcomer")
                #expect(newcomer.count == 8 && !newcomer.contains("item5") && !newcomer.contains("item6"))
                try await client.execute(uri: "/v1/events", method: .post, body: ByteBuffer(string: body)) { #expect($0.status == .unauthorized) }
            }
        }
    }
}

/// A TCP socket on loopback that accepts connections (the kernel's backlog does) and never
/// answers: a shard that hangs.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
