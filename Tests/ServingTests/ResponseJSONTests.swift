import Foundation
import NIOCore
import Testing
@testable import Serving

/// The hand-written top-K body must say what `JSONEncoder` would (snake-case keys), for any id.
@Suite struct ResponseJSONTests {
    static let ids = ["i42", "", "quote\"d", "back\\slash", "new\nline", "tab\t", "bell\u{07}", "nul\u{0}",
                      "unicode é 漢字 🙂", "slash/ok", "\u{1F}", "del\u{7F}"]

    func handWritten(_ response: TopKResponse) throws -> [String: Any] {
        var buffer = ByteBuffer()
        response.json(into: &buffer)
        return try #require(JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    func encoded(_ response: TopKResponse) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try #require(JSONSerialization.jsonObject(with: encoder.encode(response)) as? [String: Any])
    }

    @Test func agreesWithJSONEncoderForTrickyIdsAndScores() throws {
        let scores: [Float] = [0.67292875, -1, 0, 1e-7, 3.4e38, -0.0, 1.0 / 3, 12345.678, 0.1, 2, Float.leastNonzeroMagnitude * 4, 0.999_999_94]
        let items = zip(Self.ids, scores).map { ScoredItem(id: $0, score: $1) }
        let response = TopKResponse(items: items, modelVersion: "model \"7\"", indexVersion: "000003", tookMs: 1.234_567_891)
        let ours = try handWritten(response), theirs = try encoded(response)
        #expect(Set(ours.keys) == ["items", "model_version", "index_version", "took_ms"])
        #expect(Set(ours.keys) == Set(theirs.keys))
        #expect(ours["model_version"] as? String == "model \"7\"")
        #expect(ours["index_version"] as? String == theirs["index_version"] as? String)
        #expect((ours["took_ms"] as? NSNumber)?.doubleValue == 1.234_567_891)
        let a = try #require(ours["items"] as? [[String: Any]]), b = try #require(theirs["items"] as? [[String: Any]])
        #expect(a.count == items.count)
        for (n, (x, y)) in zip(a, b).enumerated() {
            #expect(x["id"] as? String == Self.ids[n])
            #expect(x["id"] as? String == y["id"] as? String)
            // Read back as Float, the score is the value sent, bit for bit.
            #expect((x["score"] as? NSNumber).map { Float($0.doubleValue) } == scores[n])
            #expect((x["score"] as? NSNumber)?.doubleValue == (y["score"] as? NSNumber)?.doubleValue)
        }
    }

    @Test func anEmptyAnswerIsAnEmptyList() throws {
        let ours = try handWritten(TopKResponse(items: [], modelVersion: "m", indexVersion: "i", tookMs: 0))
        #expect((ours["items"] as? [Any])?.isEmpty == true)
        #expect((ours["took_ms"] as? NSNumber)?.doubleValue == 0)
    }
}
