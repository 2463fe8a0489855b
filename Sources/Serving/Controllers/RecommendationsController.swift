import Hummingbird
import ModelStore

/// Top-K for a known user (the user tower run online on their current features and latest
/// history), for a cold or anonymous user (features and recent items in the body), for a vector
/// given in full (what a router sends each catalogue shard), and a known user's embedding
/// (admin, for debugging and train/serve consistency checks).
struct RecommendationsController {
    let service: RecommendationService

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/users/:id/recommendations") { request, context in
            let started = ContinuousClock.now
            let snapshot = service.snapshot
            let id = try RequestParsing.pathID(context)
            let options = try RequestParsing.topK(request, service: service, snapshot: snapshot, allowed: ["k", "nprobe", "exclude_seen", "filter"])
            let items = try await service.perform(snapshot) { try $0.recommend(user: id, options: options) }
            return Routes.topK(items, snapshot: snapshot, started: started)
        }
        router.post("/v1/recommendations") { request, _ in
            let started = ContinuousClock.now
            let snapshot = service.snapshot
            let options = try RequestParsing.topK(request, service: service, snapshot: snapshot, allowed: ["k", "nprobe", "filter"])
            let body = try await RequestParsing.body(RequestBodies.ColdStart.self, request)
            let features = (body.features ?? [:]).mapValues(\.value)
            let recent = (body.recentItems ?? []).map(\.raw)
            guard !features.isEmpty || !recent.isEmpty else {
                throw APIError.badRequest("give features, recent_items or both", field: "body")
            }
            let items = try await service.perform(snapshot) { try $0.recommend(features: features, recentItems: recent, options: options) }
            return Routes.topK(items, snapshot: snapshot, started: started)
        }
        router.post("/v1/search") { request, _ in
            let started = ContinuousClock.now
            let snapshot = service.snapshot
            let options = try RequestParsing.topK(request, service: service, snapshot: snapshot, allowed: ["k", "nprobe", "filter"])
            let body = try await RequestParsing.body(RequestBodies.VectorSearch.self, request)
            let exclude = (body.exclude ?? []).map(\.raw)
            let items = try await service.perform(snapshot) { try $0.search(vector: body.vector, exclude: exclude, options: options) }
            return Routes.topK(items, snapshot: snapshot, started: started)
        }
        router.get("/v1/users/:id/embedding") { request, context in
            try RequestParsing.authorize(request, token: service.options.adminToken, what: "admin")
            let snapshot = service.snapshot
            let id = try RequestParsing.pathID(context)
            _ = try RequestParsing.query(request, allowed: [])
            let vector = try await service.perform(snapshot) { try $0.userEmbedding(user: id) }
            return Routes.json(["id": id, "vector": vector.map(Double.init), "model_version": snapshot.modelVersion])
        }
    }
}
