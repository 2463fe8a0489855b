import Foundation
import HTTPTypes
import Hummingbird
import Serving
import Testing

/// docs/openapi.json against the running daemon: every documented operation exists (the router
/// matches it) and answers with a status the document lists, for a valid and an invalid call.
@Suite(.serialized) struct OpenAPITests {
    static var specPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.json").path
    }

    @Test func theDocumentMatchesTheDaemon() async throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.specPath))) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        #expect(Set(paths.keys) == Set(Routes.table.map(\.path)), "docs/openapi.json and the daemon's routes differ")
        for route in Routes.table {
            #expect(paths[route.path]?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(route.path) is not documented")
        }
        var operations: [(path: String, method: String, documented: Set<Int>)] = []
        for (path, methods) in paths.sorted(by: { $0.key < $1.key }) {
            for (method, operation) in methods {
                let op = try #require(operation as? [String: Any])
                operations.append((path, method, Set(try #require(op["responses"] as? [String: Any]).keys.compactMap(Int.init))))
            }
        }
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { [operations] client, service in
            do {
                for (path, method, documented) in operations {
                    let id = path.contains("users") ? "user1" : method == "put" ? "documented-item" : "item4"
                    let uri = path.replacingOccurrences(of: "{id}", with: id)
                    let body: ByteBuffer? = switch (path, method) {
                    case ("/v1/recommendations", _): ByteBuffer(string: #"{"recent_items": ["item1"]}"#)
                    case (_, "put"): ByteBuffer(string: #"{"features": {"genre": "g1"}}"#)
                    default: nil
                    }
                    let m = HTTPRequest.Method(method.uppercased())!
                    // A valid call, then one with a bad k (where the route takes k) or no token (admin routes).
                    for (suffix, headers) in [("", admin), (path.hasPrefix("/v1/") && !path.contains("admin") && m != .put && m != .delete ? "?k=0" : "", [:] as HTTPFields)] {
                        try await client.execute(uri: uri + suffix, method: m, headers: headers, body: body) { (r: TestResponse) async throws in
                            #expect(documented.contains(Int(r.status.code)), "\(method) \(uri + suffix) answered \(r.status.code), documented \(documented.sorted())")
                        }
                    }
                    if m == .put {  // leave the index as it was for the later calls
                        try await client.execute(uri: uri, method: .delete, headers: admin) { _ in }
                    }
                }
            }
            // Every call reached a route: nothing was counted as unmatched.
            #expect(!service.metrics.render().contains(#"route="unmatched""#))
        }
    }
}
