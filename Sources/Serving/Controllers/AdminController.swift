import Foundation
import Hummingbird
import LinearAlgebra
import Model
import VectorIndex

/// `POST /v1/admin/reload`: load the checkpoint and the index's current version again (as
/// SIGHUP does); in-flight requests finish on the pair they started with, and a failed reload
/// answers 409 while the old pair keeps serving.
struct AdminController {
    let service: RecommendationService

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/admin/reload") { request, _ in
            try RequestParsing.authorize(request, token: service.options.adminToken, what: "admin")
            _ = try RequestParsing.query(request, allowed: [])
            let swapped: (old: ServingSnapshot, new: ServingSnapshot)
            do {
                // Off the cooperative pool: a large index takes seconds to load.
                swapped = try await Parallel.onAThreadOfItsOwn { try service.reload() }
            } catch {
                // The part that failed: the checkpoint, or the index (or their pairing: neither alone).
                let field: String? = error is CheckpointError ? "model" : error is IndexError ? "index" : nil
                throw APIError(.conflict, code: "reload_failed", "reload failed, the previous version keeps serving: \(error)", field: field)
            }
            return Routes.json(["model_version": swapped.new.modelVersion, "index_version": swapped.new.indexVersion,
                                "previous_model_version": swapped.old.modelVersion, "previous_index_version": swapped.old.indexVersion])
        }
    }
}
