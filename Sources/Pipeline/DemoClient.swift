import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's HTTP client: a few sample queries printed as answers, then sequential top-10
/// requests timed end to end over loopback.
struct DemoClient: Sendable {
    let base: String
    let users: [String]
    let item: String
    let log: @Sendable (String) -> Void

    struct Latency: Sendable {
        var p50: Double
        var p99: Double
        var count: Int
    }

    func request(_ path: String, method: String = "GET", body: String? = nil) async throws -> (status: Int, json: [String: Any]) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    func show(_ label: String, _ answer: (status: Int, json: [String: Any])) {
        let items = (answer.json["items"] as? [[String: Any]] ?? []).map { "\($0["id"] ?? "?") (\(String(format: "%.3f", ($0["score"] as? Double) ?? 0)))" }
        log("    \(label) → \(answer.status): " + items.joined(separator: ", "))
    }

    /// Path segments are percent-encoded, as any client must for ids with reserved characters.
    static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#%"))) ?? id
    }

    func run() async throws -> Latency {
        for user in users.prefix(3) {
            show("GET /v1/users/\(user)/recommendations?k=5", try await request("/v1/users/\(Self.segment(user))/recommendations?k=5"))
        }
        show("GET /v1/items/\(item)/similar?k=5", try await request("/v1/items/\(Self.segment(item))/similar?k=5"))
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["recent_items": [item]]), as: UTF8.self)
        show("POST /v1/recommendations \(body)", try await request("/v1/recommendations?k=5", method: "POST", body: body))
        var seconds: [Double] = []
        for n in 0..<max(500, users.count) {
            let started = ContinuousClock.now
            let answer = try await request("/v1/users/\(Self.segment(users[n % users.count]))/recommendations?k=10")
            let elapsed = ContinuousClock.now - started
            guard answer.status == 200 else { throw JobError("the daemon answered \(answer.status): \(answer.json)") }
            seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        seconds.sort()
        return Latency(p50: 1000 * seconds[seconds.count / 2], p99: 1000 * seconds[Int(Double(seconds.count) * 0.99)], count: seconds.count)
    }
}
