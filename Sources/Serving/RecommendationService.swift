import Foundation
import Synchronization
import Store
import VectorIndex

/// The daemon's state: the current model/index snapshot, the worker pool, store connections
/// and metrics. Routes call `perform`, which runs their work on a worker thread against the
/// snapshot current when the request arrived.
public final class RecommendationService: Sendable {
    public let options: ServingOptions
    public let metrics = ServingMetrics()
    let pool: WorkerPool
    let stores: StorePool
    let itemNames = ItemNames()
    private let state: Mutex<ServingSnapshot>
    private let reloading = Mutex(())

    public init(options: ServingOptions) throws {
        self.options = options
        let snapshot = try ServingSnapshot.load(modelPath: options.modelPath, indexPath: options.indexPath)
        state = Mutex(snapshot)
        stores = try StorePool(path: options.storePath)
        pool = WorkerPool(threads: options.workerThreads, queueLimit: options.queueLimit)
        metrics.served(model: snapshot.modelVersion, index: snapshot.indexVersion)
    }

    /// The snapshot new requests use.
    public var snapshot: ServingSnapshot { state.withLock { $0 } }

    /// Runs `body` on a worker with the current snapshot and a store connection.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Recommender) throws -> T) async throws -> T {
        let snapshot = self.snapshot
        do {
            return try await pool.run(deadline: .now + options.requestTimeout) { [stores, itemNames] in
                try stores.with { try body(Recommender(snapshot: snapshot, store: $0, itemNames: itemNames)) }
            }
        } catch let error as APIError where error.status == .serviceUnavailable {
            metrics.queueRejections.increment()
            throw error
        }
    }

    /// Loads the model checkpoint and the index's current version again and swaps them in.
    /// Requests already running finish on the snapshot they started with. On failure the
    /// current snapshot keeps serving and the error says why.
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

    /// Stops the workers once queued work is done.
    public func shutdown() { pool.shutdown() }

    deinit { pool.shutdown() }
}
