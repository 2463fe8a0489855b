import Foundation
import Hummingbird
import Store

/// `POST /v1/events`: interactions arriving online, committed to the process's event log by the
/// event writer (group commit) and answered once committed. The next recommendation request for
/// those users sees them: the history encoder and `exclude_seen` add the writer's pending events
/// to what the store holds. The daemon and the router both serve it.
struct EventsController {
    let writer: EventWriter
    let metrics: ServingMetrics
    /// The events bearer token; the route answers 401 while it is nil.
    let token: String?

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/events") { request, _ in
            let start = ContinuousClock.now
            defer { metrics.eventRequestDuration.record(.now - start) }
            try RequestParsing.authorize(request, token: token, what: "events")
            _ = try RequestParsing.query(request, allowed: [])
            let body = try await RequestParsing.body(RequestBodies.Events.self, request)
            let now = Int64(Date().timeIntervalSince1970)
            let events = body.events.map { NewEvent(user: $0.user, item: $0.item, timestamp: $0.timestamp ?? now, weight: $0.weight) }
            let result: AppendedEvents
            do {
                result = try await writer.append(events)
            } catch let error as UnknownEventItem {
                throw APIError.notFound(error.description, field: "events[\(error.index)].item")
            }
            return Routes.json(["accepted": events.count, "added": result.added, "duplicates": result.duplicates,
                                "new_users": result.newUsers, "durable": true])
        }
    }
}
