import Foundation
import HTTPTypes
import Hummingbird
import Randomness
import Serving
import Testing

/// Thousands of random and malformed requests: the daemon never crashes and never answers a 5xx
/// other than the documented 503.
@Suite(.serialized) struct FuzzTests {
    static let fragments = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e400", "-0", "NaN", "\"features\"", "\"recent_items\"", "\"vector\"",
        "\"age\"", "\"genre\"", "\"item1\"", "{\"a\":", "\\u0000", "\u{FFFF}", "1.5", "[1,2,3]", "{}", "[]", "\"g0\"", "99999999999999999999",
    ]

    static func randomBody(_ rng: inout SplitMix64) -> String {
        switch rng.next() % 4 {
        case 0: return (0..<Int(rng.next() % 12)).map { _ in fragments[Int(rng.next() % UInt64(fragments.count))] }.joined()
        case 1: return String(decoding: (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, as: UTF8.self)
        case 2:
            let values = ["1", "\"x\"", "[\"item1\", 3]", "{\"age\": [1]}", "{\"genre\": [\"g0\", 2]}", "[1e39, 1]", "{\"age\": 1e308}", "null"]
            let keys = ["features", "recent_items", "vector", "k", ""]
            return "{\"\(keys[Int(rng.next() % 5)])\": \(values[Int(rng.next() % 8)])}"
        default:
            return "{\"features\": {\"age\": \(Double(rng.next() % 1000) - 500)}, \"recent_items\": [\"item\(rng.next() % 70)\"]}"
        }
    }

    static func randomQuery(_ rng: inout SplitMix64) -> String {
        let keys = ["k", "nprobe", "exclude_seen", "filter", "x", "", "k%00"]
        let values = ["1", "0", "-1", "1000", "1001", "abc", "true", "genre:g1", "genre:", ":", "%ZZ", "9999999999999999999999", ""]
        return (0..<Int(rng.next() % 4)).map { _ in "\(keys[Int(rng.next() % 7)])=\(values[Int(rng.next() % 13)])" }.joined(separator: "&")
    }

    @Test func randomAndMalformedRequestsNeverCauseA5xx() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, _ in
            var rng = SplitMix64(seed: 2024)
            var requests: [(String, HTTPRequest.Method, HTTPFields, String?)] = []
            let paths = ["/v1/recommendations", "/v1/users/user1/recommendations", "/v1/users/%00/recommendations",
                         "/v1/items/item2/similar", "/v1/items/item5", "/v1/items/new-\(0)", "/v1/admin/reload", "/metrics", "/readyz"]
            let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete]
            for _ in 0..<3_000 {
                let path = paths[Int(rng.next() % UInt64(paths.count))]
                let method = methods[Int(rng.next() % 4)]
                let headers: HTTPFields = rng.next() % 2 == 0 ? admin : [:]
                requests.append((path + "?" + Self.randomQuery(&rng), method, headers, rng.next() % 5 == 0 ? nil : Self.randomBody(&rng)))
            }
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for lane in 0..<8 {
                    let mine = stride(from: lane, to: requests.count, by: 8).map { requests[$0] }
                    group.addTask {
                        var out: [Int] = []
                        for (uri, method, headers, body) in mine {
                            let status = try await client.execute(uri: uri, method: method, headers: headers,
                                                                  body: body.map { ByteBuffer(string: $0) }) { $0.status.code }
                            out.append(status)
                        }
                        return out
                    }
                }
                var all: [Int] = []
                for try await s in group { all += s }
                return all
            }
            #expect(statuses.count == 3_000)
            let bad = statuses.filter { $0 >= 500 && $0 != 503 }
            #expect(bad.isEmpty, "5xx answers: \(bad.prefix(10))")
            #expect(statuses.contains(200) && statuses.contains(400))
            // Still healthy afterwards.
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
