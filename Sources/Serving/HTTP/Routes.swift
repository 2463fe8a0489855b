import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP API (documented in docs/openapi.json and the README): the controllers' routes on one
/// router behind the error-and-metrics middleware.
public enum Routes {
    /// Largest request body accepted; larger ones are answered 413.
    public static var maxBody: Int { RequestParsing.maxBody }

    /// Every route the daemon has: method and path pattern (`{id}` matches one segment). The
    /// middleware answers 405 with `Allow` from it when a path exists under another method.
    public static let table: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "/healthz"), (.get, "/readyz"), (.get, "/metrics"),
        (.get, "/v1/users/{id}/recommendations"), (.get, "/v1/users/{id}/embedding"), (.post, "/v1/recommendations"), (.post, "/v1/search"),
        (.get, "/v1/items/{id}/similar"), (.put, "/v1/items/{id}"), (.delete, "/v1/items/{id}"),
        (.post, "/v1/events"), (.post, "/v1/admin/reload"),
    ]

    public static func router(for service: RecommendationService) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorsAndMetrics(metrics: service.metrics))
        HealthController(service: service).addRoutes(to: router)
        RecommendationsController(service: service).addRoutes(to: router)
        ItemsController(service: service).addRoutes(to: router)
        EventsController(writer: service.events, metrics: service.metrics, token: service.options.eventsToken).addRoutes(to: router)
        AdminController(service: service).addRoutes(to: router)
        return router
    }

    /// The methods `path` has routes for.
    static func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return table.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "{id}" || $0 == $1 }
        }.map(\.method)
    }

    static func json(_ object: [String: any Sendable], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A top-K answer written straight into a buffer (`TopKResponse.json(into:)`).
    static func topK(_ items: [ScoredItem], snapshot: ServingSnapshot, started: ContinuousClock.Instant) -> Response {
        let took = ContinuousClock.now - started
        let response = TopKResponse(items: items, modelVersion: snapshot.modelVersion, indexVersion: snapshot.indexVersion,
                                    tookMs: Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(128 + 48 * items.count)
        response.json(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }
}

/// Turns every error into a JSON response (APIError as it is, framework errors by status, the
/// rest as 500 and logged), answers 405 with `Allow` for a path that exists under other methods,
/// and records each request's route, status and latency.
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
            if error.status.code == 499 { context.logger.debug("\(request.method) \(request.uri.path): the client went away mid-request") }
            response = error.response()
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = Routes.methods(for: request.uri.path)
            if allowed.isEmpty {
                response = APIError(.notFound, code: "not_found", "no route for \(request.method) \(request.uri.path)").response()
            } else {
                response = APIError(.methodNotAllowed, code: "method_not_allowed",
                                    "\(request.uri.path) takes \(allowed.map(\.rawValue).joined(separator: ", ")), not \(request.method)")
                    .response(headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
            }
        } catch let error as HTTPError {
            response = APIError(error.status, code: "http_error", error.body ?? "\(error.status.reasonPhrase) (\(request.method) \(request.uri.path))").response()
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
