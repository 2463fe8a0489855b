import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle
import Store

/// The single writer of online events: requests queue their batches (bounded: a full queue
/// answers 503 at once), one thread takes every batch waiting and writes them in one
/// transaction on its own store connection (group commit), and each request resumes after that
/// commit, so an acknowledged batch is on disk (`synchronous = FULL`). A batch naming an unknown
/// item fails alone; the others of its group still land.
///
/// As a `Service` of the daemon's group it stops after the HTTP server: batches already queued
/// are committed before it ends.
public final class EventWriter: Service, @unchecked Sendable {
    /// Most events one request may carry.
    public static let maxBatch = 1_000
    /// Most batches waiting for the writer before requests are refused with 503.
    public let queueLimit: Int
    /// Most events one transaction takes (the rest wait for the next).
    public let maxGroup: Int
    private typealias Batch = (events: [NewEvent], arrived: ContinuousClock.Instant, resume: (Result<AppendedEvents, Error>) -> Void)
    private let store: InteractionStore
    private let metrics: ServingMetrics
    private let condition = NSCondition()
    private var pending: [Batch] = []
    private var stopped = false
    private var finished = false

    public init(storePath: String, queueLimit: Int = 1_024, maxGroup: Int = 20_000, metrics: ServingMetrics) throws {
        // A large page cache: inserts land all over the interactions table's indexes, and pages
        // read from the file system cost a system call each.
        store = try InteractionStore(path: storePath, create: false, cacheMiB: 256)
        try store.makeCommitsDurable()
        self.queueLimit = max(queueLimit, 1)
        self.maxGroup = max(maxGroup, 1)
        self.metrics = metrics
        let thread = Thread { self.work() }
        thread.name = "twotower-events"
        thread.start()
    }

    /// Queues one batch and returns once it is committed.
    /// - Throws: `UnknownEventItem` (nothing of the batch written), `APIError.overloaded` when
    ///   the queue is full, `APIError.draining` once the daemon is stopping.
    public func append(_ events: [NewEvent]) async throws -> AppendedEvents {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AppendedEvents, Error>) in
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return continuation.resume(throwing: APIError.draining) }
            guard pending.count < queueLimit else {
                metrics.queueRejections.increment()
                return continuation.resume(throwing: APIError.overloaded)
            }
            pending.append((events, .now, { continuation.resume(with: $0) }))
            condition.signal()
        }
    }

    private func work() {
        // Ahead of the recommendation workers when the cores are saturated, so an event batch
        // waits for its commit, not for a time slice (needs CAP_SYS_NICE; without it the
        // writer keeps the default priority). On Linux, who = 0 is the calling thread.
        #if canImport(Glibc)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -5)
        #endif
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var take = 0, events = 0
            while take < pending.count && (take == 0 || events + pending[take].events.count <= maxGroup) {
                events += pending[take].events.count
                take += 1
            }
            let group = Array(pending.prefix(take))
            pending.removeFirst(take)
            condition.unlock()
            commit(group)
        }
    }

    private func commit(_ group: [Batch]) {
        let start = ContinuousClock.now
        for batch in group { metrics.eventQueueWait.record(start - batch.arrived) }
        var results = [Result<AppendedEvents, Error>](repeating: .failure(APIError.draining), count: group.count)
        do {
            try store.write {
                let appender = try EventAppender(store: store)
                for (n, batch) in group.enumerated() {
                    do {
                        results[n] = .success(try appender.append(batch.events))
                    } catch let error as UnknownEventItem {
                        results[n] = .failure(error)
                    }
                }
            }
        } catch {
            // The transaction rolled back: none of the group landed.
            for n in results.indices { results[n] = .failure(error) }
        }
        var added = 0
        for result in results { if case let .success(r) = result { added += r.added } }
        metrics.eventsAdded.increment(by: Int64(added))
        metrics.eventCommits.increment()
        metrics.eventCommitDuration.record(.now - start)
        for (batch, result) in zip(group, results) { batch.resume(result) }
    }

    /// The service: waits for the group's graceful shutdown, then commits what is queued and ends.
    public func run() async throws {
        try? await gracefulShutdown()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                self.stop()
                done.resume()
            }.start()
        }
    }

    /// Refuses new batches, commits the queued ones, and returns when the writer thread has ended.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
