import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What every route reads from a request the same way: path ids (percent-decoded), query
/// options (each known key at most once), bodies (size-checked before they are read), tokens.
enum RequestParsing {
    /// Largest request body accepted; larger ones are answered 413.
    static let maxBody = 1 << 20

    /// A path parameter, percent-decoded (RFC 3986): `/v1/items/a%2Fb/similar` names item `a/b`.
    static func pathID(_ context: some RequestContext, _ name: String = "id") throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError.badRequest("the \(name) '\(raw)' is not valid percent-encoding", field: name)
        }
        guard !decoded.isEmpty else { throw APIError.badRequest("the \(name) is empty", field: name) }
        return decoded
    }

    /// The query's parameters: only `allowed` keys, each at most once.
    static func query(_ request: Request, allowed: Set<String>) throws -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                throw APIError.badRequest("unknown query parameter '\(name)'; this route takes \(allowed.sorted().joined(separator: ", "))",
                                          field: name)
            }
            guard out[name] == nil else { throw APIError.badRequest("query parameter '\(name)' is given more than once", field: name) }
            out[name] = String(value)
        }
        return out
    }

    /// The top-K options of a query, validated against the snapshot that will answer it.
    /// `k`, 1…1000, when the query gives it.
    static func k(_ query: [String: String]) throws -> Int? {
        guard let k = query["k"] else { return nil }
        guard let value = Int(k), (1...1000).contains(value) else {
            throw APIError.badRequest("k must be an integer from 1 to 1000, got '\(k)'", field: "k")
        }
        return value
    }

    /// `exclude_seen` (true/1 or false/0), when the query gives it.
    static func excludeSeen(_ query: [String: String]) throws -> Bool? {
        guard let flag = query["exclude_seen"] else { return nil }
        switch flag {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badRequest("exclude_seen must be true or false, got '\(flag)'", field: "exclude_seen")
        }
    }

    static func topK(_ request: Request, service: RecommendationService, snapshot: ServingSnapshot,
                     allowed: Set<String>) throws -> QueryOptions {
        let query = try query(request, allowed: allowed)
        let metadata = snapshot.index.metadata
        var options = QueryOptions(k: service.options.defaultK, nprobe: service.options.defaultNprobe ?? metadata.defaultNprobe)
        options.rerankFactor = service.options.rerankFactor ?? metadata.defaultRerankFactor
        options.k = try k(query) ?? options.k
        let nlist = metadata.nlist
        if let nprobe = query["nprobe"] {
            guard let value = Int(nprobe), (1...nlist).contains(value) else {
                throw APIError.badRequest("nprobe must be an integer from 1 to \(nlist) (the index's lists), got '\(nprobe)'", field: "nprobe")
            }
            options.nprobe = value
        }
        options.nprobe = min(options.nprobe, nlist)
        options.excludeSeen = try excludeSeen(query) ?? options.excludeSeen
        if let filter = query["filter"] {
            let parts = filter.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw APIError.badRequest("filter must be feature:value (e.g. genres:Comedy), got '\(filter)'", field: "filter")
            }
            options.filter = (parts[0], parts[1])
        }
        return options
    }

    /// The body, decoded as `T`. A declared length over `maxBody` is refused before any byte is
    /// read; a body that turns out longer is refused when it passes the limit; a client that
    /// goes away mid-body is a client abort (499), not a server error.
    static func body<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBody {
            throw APIError.tooLarge
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge
        } catch {
            throw APIError.clientAborted
        }
        return try RequestBodies.decode(T.self, from: Data(buffer: buffer))
    }

    /// Checks a bearer token in constant time, so the answer's timing says nothing about it.
    static func authorize(_ request: Request, token: String?, what: String) throws {
        guard let token, !token.isEmpty else {
            throw APIError(.unauthorized, code: "unauthorized", "\(what) routes are disabled: no \(what) token is configured")
        }
        let given = request.headers[.authorization] ?? ""
        let expected = Array("Bearer \(token)".utf8), got = Array(given.utf8)
        var difference = expected.count ^ got.count
        for i in 0..<max(expected.count, got.count) {
            difference |= Int((i < expected.count ? expected[i] : 0) ^ (i < got.count ? got[i] : 0))
        }
        guard difference == 0 else {
            throw APIError(.unauthorized, code: "unauthorized", "a valid \(what) bearer token is required", field: "Authorization")
        }
    }
}
