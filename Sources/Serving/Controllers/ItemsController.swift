import Hummingbird

/// Item-to-item neighbours through the index, and the catalogue's admin routes: `PUT` adds or
/// replaces an item's vector (given, or embedded by the item tower from features) and `DELETE`
/// removes it, each in one index transaction.
struct ItemsController {
    let service: RecommendationService

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/items/:id/similar") { request, context in
            let started = ContinuousClock.now
            let snapshot = service.snapshot
            let id = try RequestParsing.pathID(context)
            let options = try RequestParsing.topK(request, service: service, snapshot: snapshot, allowed: ["k", "nprobe", "filter"])
            let items = try await service.perform(snapshot) { try $0.similar(item: id, options: options) }
            return Routes.topK(items, snapshot: snapshot, started: started)
        }
        router.put("/v1/items/:id") { request, context in
            try RequestParsing.authorize(request, token: service.options.adminToken, what: "admin")
            let snapshot = service.snapshot
            let id = try RequestParsing.pathID(context)
            _ = try RequestParsing.query(request, allowed: [])
            let body = try await RequestParsing.body(RequestBodies.ItemUpdate.self, request)
            guard (body.vector == nil) != (body.features == nil) else {
                throw APIError.badRequest("give exactly one of vector and features", field: "body")
            }
            let (vector, features) = (body.vector, body.features?.mapValues(\.value))
            let result = try await service.perform(snapshot) { try $0.upsert(item: id, vector: vector, features: features) }
            return Routes.json(["id": id, "created": result.created, "index_version": snapshot.indexVersion], status: result.created ? .created : .ok)
        }
        router.delete("/v1/items/:id") { request, context in
            try RequestParsing.authorize(request, token: service.options.adminToken, what: "admin")
            let snapshot = service.snapshot
            let id = try RequestParsing.pathID(context)
            _ = try RequestParsing.query(request, allowed: [])
            try await service.perform(snapshot) { try $0.delete(item: id) }
            return Routes.json(["id": id, "deleted": true, "index_version": snapshot.indexVersion])
        }
    }
}
