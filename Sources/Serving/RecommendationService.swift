import Foundation
import LinearAlgebra
import Logging
import ServiceLifecycle
import Store
import Synchronization
import UnixSignals
import VectorIndex

/// The daemon's state: the current model/index snapshot, the worker pool, store connections
/// and metrics. Handlers take `snapshot` once per request and call `perform` with it, which runs
/// their work on a worker thread against that snapshot and a store connection.
public final class RecommendationService: Sendable {
    public let options: ServingOptions
    public let metrics = ServingMetrics()
    let pool: WorkerPool
    let stores: StorePool
    /// The single writer of `POST /v1/events`.
    let events: EventWriter
    let itemNames = ItemNames()
    private let state: Mutex<ServingSnapshot>
    private let reloading = Mutex(())

    public init(options: ServingOptions) throws {
        self.options = options
        let snapshot = try ServingSnapshot.load(modelPath: options.modelPath, indexPath: options.indexPath)
        state = Mutex(snapshot)
        stores = try StorePool(path: options.storePath)
        pool = WorkerPool(threads: options.workerThreads, queueLimit: options.queueLimit)
        events = try EventWriter(storePath: options.storePath, queueLimit: options.eventsQueueLimit, mergeEvents: options.eventsMergeEvents,
                                 mergeInterval: options.eventsMergeInterval, metrics: metrics)
        metrics.served(model: snapshot.modelVersion, index: snapshot.indexVersion)
    }

    /// The snapshot a request starting now uses.
    public var snapshot: ServingSnapshot { state.withLock { $0 } }

    /// Runs `body` on a worker with `snapshot` and a store connection.
    func perform<T: Sendable>(_ snapshot: ServingSnapshot, _ body: @escaping @Sendable (Recommender) throws -> T) async throws -> T {
        do {
            return try await pool.run(deadline: .now + options.requestTimeout) { [stores, itemNames, events] in
                try stores.with { try body(Recommender(snapshot: snapshot, store: $0, itemNames: itemNames, pending: events.pending)) }
            }
        } catch let error as APIError where error.status == .serviceUnavailable {
            metrics.queueRejections.increment()
            throw error
        }
    }

    /// Loads the model checkpoint and the index's current version again and swaps them in.
    /// Requests already running finish on the snapshot they started with. On failure (a damaged
    /// checkpoint, a missing index) the current snapshot keeps serving and the error says why.
    @discardableResult
    public func reload() throws -> (old: ServingSnapshot, new: ServingSnapshot) {
        // One reload at a time; requests never wait on it (they read `state`, not this lock).
        try reloading.withLock { _ in
            let new = try ServingSnapshot.load(modelPath: options.modelPath, indexPath: options.indexPath)
            let old = state.withLock { current in
                let old = current
                current = new
                return old
            }
            metrics.served(model: new.modelVersion, index: new.indexVersion)
            metrics.reloads.increment()
            return (old, new)
        }
    }

    /// Stops the workers once queued work is done (the pool's own service does it on a graceful
    /// shutdown; this is for a service used without a daemon).
    public func shutdown() {
        events.stop()
        pool.shutdown()
    }
}

/// Reloads the service on SIGHUP, as `POST /v1/admin/reload` does, for as long as the daemon runs.
struct Reloader: Service {
    let service: RecommendationService
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        // The loop ends when the group shuts down (the task is cancelled).
        _ = await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    let (_, new) = try await Parallel.onAThreadOfItsOwn { try service.reload() }
                    logger.info("reloaded on SIGHUP: model \(new.modelVersion), index \(new.indexVersion)")
                } catch {
                    logger.error("reload on SIGHUP failed, the previous version keeps serving: \(error)")
                }
            }
        }
    }
}
