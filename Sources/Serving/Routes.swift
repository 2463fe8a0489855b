import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP API (documented in docs/openapi.json and the README).
public enum Routes {
    /// Largest request body accepted; larger ones are answered 413.
    public static let maxBody = 1 << 20

    public static func router(for service: RecommendationService) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorsAndMetrics(metrics: service.metrics))
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            let s = service.snapshot
            return json(["status": "ready", "model_version": s.modelVersion, "index_version": s.indexVersion])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
        router.get("/v1/users/:id/recommendations") { request, context in
            let id = try context.parameters.require("id")
            let options = try queryOptions(request, service: service, allowed: ["k", "nprobe", "exclude_seen", "filter"])
            return try await topK(service) { try $0.recommend(user: id, options: options) }
        }
        router.post("/v1/recommendations") { request, _ in
            let options = try queryOptions(request, service: service, allowed: ["k", "nprobe", "filter"])
            let body = try await jsonObject(request, allowedKeys: ["features", "recent_items"])
            let features = try featureInputs(body["features"], field: "features")
            let recent = try itemList(body["recent_items"], field: "recent_items")
            guard !features.isEmpty || !recent.isEmpty else {
                throw APIError.badRequest("give features, recent_items or both", field: "body")
            }
            return try await topK(service) { try $0.recommend(features: features, recentItems: recent, options: options) }
        }
        router.get("/v1/items/:id/similar") { request, context in
            let id = try context.parameters.require("id")
            let options = try queryOptions(request, service: service, allowed: ["k", "nprobe", "filter"])
            return try await topK(service) { try $0.similar(item: id, options: options) }
        }
        router.put("/v1/items/:id") { request, context in
            try authorize(request, service: service)
            let id = try context.parameters.require("id")
            let body = try await jsonObject(request, allowedKeys: ["vector", "features"])
            guard (body["vector"] == nil) != (body["features"] == nil) else {
                throw APIError.badRequest("give exactly one of vector and features", field: "body")
            }
            let vector = try body["vector"].map { try floats($0, field: "vector") }
            let features = try body["features"].map { try featureInputs($0, field: "features") }
            let result = try await service.perform { try $0.upsert(item: id, vector: vector, features: features) }
            return json(["id": id, "created": result.created, "index_version": service.snapshot.indexVersion] as [String: any Sendable],
                        status: result.created ? .created : .ok)
        }
        router.delete("/v1/items/:id") { request, context in
            try authorize(request, service: service)
            let id = try context.parameters.require("id")
            try await service.perform { try $0.delete(item: id) }
            return json(["id": id, "deleted": true] as [String: any Sendable])
        }
        router.post("/v1/admin/reload") { request, _ in
            try authorize(request, service: service)
            let swapped: (old: ServingSnapshot, new: ServingSnapshot)
            do {
                swapped = try await Task.detached { try service.reload() }.value
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError(.conflict, code: "reload_failed", "reload failed, the previous version keeps serving: \(error)")
            }
            return json(["model_version": swapped.new.modelVersion, "index_version": swapped.new.indexVersion,
                         "previous_model_version": swapped.old.modelVersion, "previous_index_version": swapped.old.indexVersion])
        }
        return router
    }

    // MARK: Responses

    static func json(_ object: [String: any Sendable], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func topK(_ service: RecommendationService, _ body: @escaping @Sendable (Recommender) throws -> [ScoredItem]) async throws -> Response {
        let started = ContinuousClock.now
        let snapshot = service.snapshot
        let items = try await service.perform(body)
        let took = ContinuousClock.now - started
        let response = TopKResponse(items: items, modelVersion: snapshot.modelVersion, indexVersion: snapshot.indexVersion,
                                    tookMs: Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(128 + 48 * items.count)
        response.json(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }

    // MARK: Requests

    static func authorize(_ request: Request, service: RecommendationService) throws {
        guard let token = service.options.adminToken, !token.isEmpty else {
            throw APIError(.unauthorized, code: "unauthorized", "admin routes are disabled: no admin token is configured")
        }
        let given = request.headers[.authorization] ?? ""
        // Compared in constant time so the answer's timing says nothing about the token.
        let expected = Array("Bearer \(token)".utf8), got = Array(given.utf8)
        var difference = expected.count ^ got.count
        for i in 0..<max(expected.count, got.count) {
            difference |= Int((i < expected.count ? expected[i] : 0) ^ (i < got.count ? got[i] : 0))
        }
        guard difference == 0 else {
            throw APIError(.unauthorized, code: "unauthorized", "a valid admin bearer token is required", field: "Authorization")
        }
    }

    static func queryOptions(_ request: Request, service: RecommendationService, allowed: Set<String>) throws -> QueryOptions {
        let query = request.uri.queryParameters
        for (key, _) in query where !allowed.contains(String(key)) {
            throw APIError.badRequest("unknown query parameter '\(key)'; this route takes \(allowed.sorted().joined(separator: ", "))",
                                      field: String(key))
        }
        let metadata = service.snapshot.index.metadata
        var options = QueryOptions(k: service.options.defaultK, nprobe: service.options.defaultNprobe ?? metadata.defaultNprobe)
        options.rerankFactor = service.options.rerankFactor ?? metadata.defaultRerankFactor
        if let k = query.get("k") {
            guard let value = Int(k), (1...1000).contains(value) else {
                throw APIError.badRequest("k must be an integer from 1 to 1000, got '\(k)'", field: "k")
            }
            options.k = value
        }
        let nlist = service.snapshot.index.metadata.nlist
        if let nprobe = query.get("nprobe") {
            guard let value = Int(nprobe), (1...nlist).contains(value) else {
                throw APIError.badRequest("nprobe must be an integer from 1 to \(nlist) (the index's lists), got '\(nprobe)'", field: "nprobe")
            }
            options.nprobe = value
        }
        options.nprobe = min(options.nprobe, nlist)
        if let flag = query.get("exclude_seen") {
            switch flag {
            case "true", "1": options.excludeSeen = true
            case "false", "0": options.excludeSeen = false
            default: throw APIError.badRequest("exclude_seen must be true or false, got '\(flag)'", field: "exclude_seen")
            }
        }
        if let filter = query.get("filter") {
            let parts = filter.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw APIError.badRequest("filter must be feature:value (e.g. genres:Comedy), got '\(filter)'", field: "filter")
            }
            options.filter = (parts[0], parts[1])
        }
        return options
    }

    static func jsonObject(_ request: Request, allowedKeys: Set<String>) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: maxBody)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed])
        } catch {
            throw APIError.badRequest("the body is not valid JSON", field: "body")
        }
        guard let dictionary = object as? [String: Any] else { throw APIError.badRequest("the body must be a JSON object", field: "body") }
        for key in dictionary.keys where !allowedKeys.contains(key) {
            throw APIError.badRequest("unknown key '\(key)'; expected \(allowedKeys.sorted().joined(separator: ", "))", field: key)
        }
        return dictionary
    }

    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c" || type(of: value) == Bool.self
    }

    static func featureInputs(_ value: Any?, field: String) throws -> [String: FeatureInput] {
        guard let value else { return [:] }
        guard let object = value as? [String: Any] else { throw APIError.badRequest("\(field) must be an object", field: field) }
        var out: [String: FeatureInput] = [:]
        for (name, v) in object {
            if let s = v as? String {
                out[name] = .token(s)
            } else if let list = v as? [Any] {
                guard let strings = list as? [String] else { throw APIError.badRequest("\(name) must list strings", field: "\(field).\(name)") }
                out[name] = .tokens(strings)
            } else if !isBool(v), let n = v as? NSNumber, n.doubleValue.isFinite {
                out[name] = .number(n.doubleValue)
            } else {
                throw APIError.badRequest("\(name) must be a number, a string or a list of strings", field: "\(field).\(name)")
            }
        }
        return out
    }

    static func itemList(_ value: Any?, field: String) throws -> [String] {
        guard let value else { return [] }
        guard let list = value as? [Any] else { throw APIError.badRequest("\(field) must be a list of item ids", field: field) }
        guard list.count <= 1000 else { throw APIError.badRequest("\(field) holds more than 1000 items", field: field) }
        return try list.enumerated().map { n, v in
            if let s = v as? String { return s }
            if !isBool(v), let i = v as? NSNumber, i.doubleValue == i.doubleValue.rounded(), abs(i.doubleValue) < 1e15 { return "\(i.int64Value)" }
            throw APIError.badRequest("item ids are strings or integers", field: "\(field)[\(n)]")
        }
    }

    static func floats(_ value: Any, field: String) throws -> [Float] {
        guard let list = value as? [Any] else { throw APIError.badRequest("\(field) must be a list of numbers", field: field) }
        return try list.enumerated().map { n, v in
            guard !isBool(v), let x = v as? NSNumber, x.doubleValue.isFinite else {
                throw APIError.badRequest("\(field)[\(n)] is not a finite number", field: "\(field)[\(n)]")
            }
            return x.floatValue
        }
    }
}

/// Turns every error into a JSON response (APIError as it is, framework errors by status, the
/// rest as 500) and records each request's route, status and latency.
struct ErrorsAndMetrics: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServingMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response()
        } catch let error as NIOTooManyBytesError {
            _ = error
            response = APIError(.contentTooLarge, code: "too_large", "the body is over \(Routes.maxBody) bytes", field: "body").response()
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : "http_error"
            response = APIError(error.status, code: code, error.body ?? "\(error.status.reasonPhrase) (\(request.method) \(request.uri.path))").response()
        } catch let error as any HTTPResponseError {
            response = APIError(error.status, code: "http_error", "\(error)").response()
        } catch {
            // Not the client's fault: the operator needs it in the log, not only the client in the body.
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            response = APIError(.internalServerError, code: "internal", "\(error)").response()
        }
        let elapsed = ContinuousClock.now - started
        metrics.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return response
    }
}
