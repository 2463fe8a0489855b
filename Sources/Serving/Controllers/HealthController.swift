import Hummingbird
import NIOCore

/// `/healthz` (liveness), `/readyz` (readiness, with the versions and default search setting
/// served) and `/metrics` (Prometheus text).
struct HealthController {
    let service: RecommendationService

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Routes.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            let s = service.snapshot
            let m = s.index.metadata
            var body: [String: any Sendable] = ["status": "ready", "model_version": s.modelVersion, "index_version": s.indexVersion,
                                                "nprobe": service.options.defaultNprobe ?? m.defaultNprobe,
                                                "rerank_factor": service.options.rerankFactor ?? m.defaultRerankFactor]
            if let c = m.calibration {
                body["calibration"] = ["target_recall": c.targetRecall, "recall_at_10": c.recallAt10, "nprobe": c.nprobe,
                                       "rerank_factor": c.rerankFactor, "reached": c.reached] as [String: any Sendable]
            }
            return Routes.json(body)
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
    }
}
