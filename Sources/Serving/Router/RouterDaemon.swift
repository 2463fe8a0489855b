import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The router's process: its worker pool and HTTP server in one `ServiceGroup`, stopped
/// gracefully on SIGTERM or SIGINT. Routes: `GET /v1/users/{id}/recommendations` (merged
/// across the shards, with `partial` and `missing_shards`), `POST /v1/events`, `/healthz`,
/// `/readyz`, `/metrics`.
public struct RouterDaemon {
    public let router: ShardRouter
    public var logger = Logger(label: "twotower.router")

    public init(router: ShardRouter) { self.router = router }

    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let r = Router()
        let service = router
        r.add(middleware: ErrorsAndMetrics(metrics: service.metrics))
        r.get("/healthz") { _, _ in Routes.json(["status": "ok"]) }
        r.get("/readyz") { _, _ in
            Routes.json(["status": "ready", "model_version": service.modelVersion, "shards": service.options.shards])
        }
        r.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
        EventsController(writer: service.events, metrics: service.metrics, token: service.options.eventsToken).addRoutes(to: r)
        r.get("/v1/users/:id/recommendations") { request, context in
            let started = ContinuousClock.now
            let id = try RequestParsing.pathID(context)
            let query = try RequestParsing.query(request, allowed: ["k", "nprobe", "exclude_seen"])
            let k = try RequestParsing.k(query) ?? service.options.defaultK
            var nprobe: Int?
            if let text = query["nprobe"] {
                guard let value = Int(text), value >= 1 else { throw APIError.badRequest("nprobe must be a positive integer, got '\(text)'", field: "nprobe") }
                nprobe = value
            }
            let excludeSeen = try RequestParsing.excludeSeen(query) ?? true
            let answer = try await service.recommend(user: id, k: k, nprobe: nprobe, excludeSeen: excludeSeen)
            let took = ContinuousClock.now - started
            return Routes.json(["items": answer.items.map { ["id": $0.id, "score": Double($0.score)] as [String: any Sendable] },
                                "model_version": service.modelVersion, "index_version": "shards",
                                "partial": !answer.missing.isEmpty, "missing_shards": answer.missing,
                                "took_ms": Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000])
        }
        let options = service.options
        return Application(router: r, configuration: .init(address: .hostname(options.host, port: options.port), serverName: "twotower-router"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) }, logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await ServiceGroup(configuration: .init(services: [router.pool, router.events, application(onRunning: onRunning)],
                                                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }
}
