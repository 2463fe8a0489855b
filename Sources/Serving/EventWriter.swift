import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle
import Store

/// The single writer of online events: requests queue their batches (bounded: a full queue
/// answers 503 at once), one thread takes every batch waiting and appends them to the store's
/// event log as one record (group commit), and each request resumes after that write, so
/// an acknowledged batch is on disk (the log's `fdatasync`). A batch naming an unknown item fails
/// alone; the others of its group still land. Accepted events are visible at once through
/// `pending`; a second thread merges them into the store's interactions in large batches (every
/// `mergeEvents` events or `mergeInterval`), and a log left by a daemon that stopped before
/// merging is merged when the next one starts.
///
/// As a `Service` of the daemon's group it stops after the HTTP server: batches already queued
/// are committed and everything pending is merged before it ends.
public final class EventWriter: Service, @unchecked Sendable {
    /// Most events one request may carry.
    public static let maxBatch = 1_000
    /// Most batches waiting for the writer before requests are refused with 503.
    public let queueLimit: Int
    /// Most events one group takes (the rest wait for the next).
    public let maxGroup: Int
    /// A merge starts once this many events are pending…
    public let mergeEvents: Int
    /// …or when the oldest pending event has waited this long.
    public let mergeInterval: Duration
    /// Most events held pending before batches are refused with 503 (merges falling behind, or
    /// failing, must not grow the daemon's memory without bound).
    public let maxPending: Int
    /// Accepted events not yet in the store: readers add them to what the store says.
    let pending = PendingEvents()
    private typealias LogRow = (user: String, item: Int, timestamp: Int64, weight: Double?)
    private typealias Batch = (events: [NewEvent], arrived: ContinuousClock.Instant, resume: (Result<AppendedEvents, Error>) -> Void)
    /// Lookups (items, users, interactions) for the writer thread.
    private let store: InteractionStore
    /// The merge thread's connection.
    private let mergeStore: InteractionStore
    /// The log the writer thread appends to.
    private var log: EventLog
    /// The id of the next event appended (runs on across logs).
    private var nextID: Int64 = 1
    /// The bytes a log's file is made with: about what `mergeEvents` events take.
    private let logCapacity: Int
    /// A merged log, recycled, for the next merge to hand the writer (the merge thread's).
    private var spare: EventLog?
    private let metrics: ServingMetrics
    /// Guards the queue, the hand-over of logs between the two threads, and the flags below.
    private let condition = NSCondition()
    private var pendingBatches: [Batch] = []
    private var stopped = false
    private var finished = false
    private var oldestPending: ContinuousClock.Instant?
    /// A fresh log the merge thread made, for the writer to switch to between two commits…
    private var nextLog: EventLog?
    /// …and the log it switched from, with the last id in it, for the merge thread to merge.
    private var sealed: (log: EventLog, through: Int64)?
    private let mergeCondition = NSCondition()
    private var mergeFinished = false

    public init(storePath: String, queueLimit: Int = 1_024, maxGroup: Int = 20_000, mergeEvents: Int = 50_000,
                mergeInterval: Duration = .seconds(5), maxPending: Int? = nil, metrics: ServingMetrics) throws {
        store = try InteractionStore(path: storePath, create: false, cacheMiB: 64)
        let mergeStore = try InteractionStore(path: storePath, create: false, cacheMiB: 256)
        try mergeStore.makeCommitsDurable()
        self.mergeStore = mergeStore
        // What a daemon that stopped before merging left in its log goes into the store first.
        _ = try EventLog.recoverAbandoned(storePath: storePath) { events in _ = try Self.merge(events, into: mergeStore) }
        self.queueLimit = max(queueLimit, 1)
        self.maxGroup = max(maxGroup, 1)
        self.mergeEvents = max(mergeEvents, 1)
        logCapacity = min(max(self.mergeEvents, 1_024) * 64, 64 << 20)
        log = try EventLog(storePath: storePath, capacity: logCapacity)
        self.mergeInterval = mergeInterval
        self.maxPending = max(maxPending ?? max(4 * self.mergeEvents, 100_000), 1)
        self.metrics = metrics
        Thread { self.work() }.start()
        Thread { self.mergeLoop() }.start()
    }

    /// Queues one batch and returns once it is committed.
    /// - Throws: `UnknownEventItem` (nothing of the batch written), `APIError.overloaded` when
    ///   the queue is full, `APIError.draining` once the daemon is stopping.
    public func append(_ events: [NewEvent]) async throws -> AppendedEvents {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AppendedEvents, Error>) in
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return continuation.resume(throwing: APIError.draining) }
            guard pendingBatches.count < queueLimit && pending.count < maxPending else {
                metrics.queueRejections.increment()
                return continuation.resume(throwing: APIError.overloaded)
            }
            pendingBatches.append((events, .now, { continuation.resume(with: $0) }))
            condition.signal()
        }
    }

    private func work() {
        // Ahead of the recommendation workers when the cores are saturated, so an event batch
        // waits for its commit, not for a time slice.
        ThreadPriority.setForCurrentThread(ThreadPriority.eventWriter, name: "tt-event-writer")
        while true {
            condition.lock()
            while pendingBatches.isEmpty && !stopped && nextLog == nil { condition.wait() }
            if let fresh = nextLog {
                // Between two commits: everything before this point is in the sealed log, which
                // the merge thread takes over; the writer never waits for a merge.
                sealed = (log, nextID - 1)
                log = fresh
                nextLog = nil
                condition.broadcast()
            }
            if pendingBatches.isEmpty && stopped {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var take = 0, events = 0
            while take < pendingBatches.count && (take == 0 || events + pendingBatches[take].events.count <= maxGroup) {
                events += pendingBatches[take].events.count
                take += 1
            }
            let group = Array(pendingBatches.prefix(take))
            pendingBatches.removeFirst(take)
            condition.unlock()
            if !group.isEmpty { commit(group) }
        }
    }

    /// Checks each batch (its items known), appends the accepted ones to the log in one
    /// record, makes them pending, and resumes every request.
    private func commit(_ group: [Batch]) {
        let start = ContinuousClock.now
        for batch in group { metrics.eventQueueWait.record(start - batch.arrived) }
        var results: [Result<AppendedEvents, Error>]
        var rows: [LogRow]
        do {
            (results, rows) = try check(group)
        } catch {
            // The store could not be read: none of the group is accepted.
            results = group.map { _ in .failure(error) }
            rows = []
        }
        do {
            if !rows.isEmpty {
                let logged = try log.append(rows, firstID: nextID)
                nextID += Int64(logged.count)
                pending.add(logged)
                condition.lock()
                if oldestPending == nil { oldestPending = start }
                // Under the lock, as after a merge: the later of the two sees both changes.
                metrics.eventsPending.set(to: Double(pending.count))
                condition.unlock()
                mergeCondition.lock()
                mergeCondition.signal()
                mergeCondition.unlock()
            }
        } catch {
            // The append failed: none of the group counts (the next record overwrites it).
            for n in results.indices { results[n] = .failure(error) }
        }
        var added = 0
        for result in results { if case let .success(r) = result { added += r.added } }
        metrics.eventsAdded.increment(by: Int64(added))
        metrics.eventCommits.increment()
        metrics.eventCommitDuration.record(.now - start)
        for (batch, result) in zip(group, results) { batch.resume(result) }
    }

    /// Each batch's answer (a batch naming an unknown item fails alone) and the rows to log.
    /// Pending events are read first, then the store (a merge commits before it drops from
    /// pending), and the store's lookups run in one read transaction: one snapshot and one file
    /// lock for the group, where each lookup on its own took and released SQLite's lock.
    private func check(_ group: [Batch]) throws -> ([Result<AppendedEvents, Error>], [LogRow]) {
        var results = [Result<AppendedEvents, Error>](repeating: .failure(APIError.draining), count: group.count)
        var rows: [LogRow] = []
        // Users and (user, item, time) keys accepted earlier in this group.
        var groupUsers = Set<String>()
        var groupKeys = Set<EventKey>()
        let seenPending = group.map { batch in batch.events.map { pending.events(of: $0.user) } }
        try store.read {
            for (n, batch) in group.enumerated() {
                do {
                    var dense: [Int] = []
                    for (i, event) in batch.events.enumerated() {
                        if let known = knownItems[event.item] {
                            dense.append(known)
                        } else if let found = try store.denseID(of: .item, raw: event.item) {
                            remember(&knownItems, event.item, found)
                            dense.append(found)
                        } else {
                            throw UnknownEventItem(index: i, item: event.item)
                        }
                    }
                    var result = AppendedEvents()
                    for (i, (event, item)) in zip(batch.events, dense).enumerated() {
                        let key = EventKey(user: event.user, item: item, timestamp: event.timestamp)
                        let before = seenPending[n][i]
                        let duplicate = groupKeys.contains(key)
                            || before.contains { $0.item == item && $0.timestamp == event.timestamp }
                        let userPending = groupUsers.contains(event.user) || !before.isEmpty
                        let stored: Int?
                        if let known = knownUsers[event.user] { stored = known } else {
                            stored = try store.denseID(of: .user, raw: event.user)
                            if let stored { remember(&knownUsers, event.user, stored) }
                        }
                        if !userPending && stored == nil { result.newUsers += 1 }
                        let inStore = try stored.map { try store.hasInteraction(user: $0, item: item, timestamp: event.timestamp) } ?? false
                        if duplicate || inStore {
                            result.duplicates += 1
                        } else {
                            result.added += 1
                        }
                        groupUsers.insert(event.user)
                        groupKeys.insert(key)
                        rows.append((event.user, item, event.timestamp, event.weight))
                    }
                    results[n] = .success(result)
                } catch let error as UnknownEventItem {
                    results[n] = .failure(error)
                }
            }
        }
        return (results, rows)
    }

    /// Raw → dense ids the writer has looked up (only ids the store has: an id, once given,
    /// never changes, while a miss may become a hit at the next merge or item upsert). Bounded:
    /// emptied when full.
    private var knownItems: [String: Int] = [:]
    private var knownUsers: [String: Int] = [:]
    private static let knownLimit = 2_000_000

    private func remember(_ map: inout [String: Int], _ raw: String, _ dense: Int) {
        if map.count >= Self.knownLimit { map.removeAll(keepingCapacity: true) }
        map[raw] = dense
    }

    private struct EventKey: Hashable {
        var user: String
        var item: Int
        var timestamp: Int64
    }

    /// The merge thread: waits until enough events are pending (or the oldest is old enough, or
    /// the writer has stopped), hands the writer an empty log (the one the last merge recycled,
    /// or a new one) and takes the one it was writing, merges that log's events into the store,
    /// drops them from `pending`, and recycles the log for the next merge.
    private func mergeLoop() {
        // Behind everything else when the cores are busy: a merge is background work, and what
        // it delays is only when offline readers of the store see the events.
        ThreadPriority.setForCurrentThread(ThreadPriority.merge, name: "tt-event-merge")
        while true {
            let stopping = waitForWork()
            var batch: [LoggedEvent] = []
            var merged: EventLog?
            if stopping {
                // The writer has ended: its log is this thread's now.
                batch = pending.oldest(through: .max)
                merged = log
            } else if let fresh = spare ?? (try? EventLog(storePath: mergeStore.path, capacity: logCapacity)) {
                spare = nil
                condition.lock()
                nextLog = fresh
                condition.broadcast()
                while sealed == nil && !finished { condition.wait() }
                let taken = sealed
                sealed = nil
                if taken == nil, let unused = nextLog {
                    // The writer stopped before switching: the fresh log is not needed.
                    nextLog = nil
                    unused.remove()
                }
                condition.unlock()
                if let taken {
                    batch = pending.oldest(through: taken.through)
                    merged = taken.log
                }
            } else {
                Thread.sleep(forTimeInterval: 0.5)  // cannot create a log now; try again
            }
            var failed = false
            if let last = batch.last {
                let start = ContinuousClock.now
                do {
                    metrics.eventsMerged.increment(by: Int64(try merge(batch)))
                    pending.drop(through: last.id)
                } catch {
                    failed = true
                    metrics.eventMergeFailures.increment()
                }
                metrics.eventMergeDuration.record(.now - start)
            }
            if failed {
                // The merge rolled back: its events stay pending and in their log, which is kept
                // (and, if this daemon dies, merged by the next one on this store).
                if let merged { abandoned.append(merged) }
            } else {
                // Everything up to this log's last event is in the store now, the events of the
                // logs kept after failed merges included (they were still pending, so this merge
                // took them): those logs go, and this one is kept for the next merge.
                abandoned.forEach { $0.remove() }
                abandoned.removeAll()
                if let merged {
                    if stopping {
                        merged.remove()
                    } else if (try? merged.recycle()) != nil {
                        spare = merged
                    } else {
                        merged.remove()
                    }
                }
            }
            if stopping {
                spare?.remove()
                spare = nil
            }
            condition.lock()
            oldestPending = pending.count > 0 ? .now : nil
            metrics.eventsPending.set(to: Double(pending.count))
            condition.unlock()
            if stopping {
                mergeCondition.lock()
                mergeFinished = true
                mergeCondition.broadcast()
                mergeCondition.unlock()
                return
            }
            if failed { Thread.sleep(forTimeInterval: 0.5) }
        }
    }

    /// Logs whose merge failed: kept open (and so locked) until a later merge succeeds.
    private var abandoned: [EventLog] = []

    /// Waits until a merge is due; returns true once the writer has ended.
    private func waitForWork() -> Bool {
        mergeCondition.lock()
        defer { mergeCondition.unlock() }
        while true {
            condition.lock()
            let stopping = finished
            let oldest = oldestPending
            condition.unlock()
            if stopping { return true }
            let count = pending.count
            if count >= mergeEvents { return false }
            if count > 0, let oldest, ContinuousClock.now - oldest >= mergeInterval { return false }
            let wait = oldest.map { max(mergeInterval - (ContinuousClock.now - $0), .milliseconds(1)) } ?? mergeInterval
            _ = mergeCondition.wait(until: Date().addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) * 1e-18))
        }
    }

    private func merge(_ events: [LoggedEvent]) throws -> Int { try Self.merge(events, into: mergeStore) }

    private static func merge(_ events: [LoggedEvent], into store: InteractionStore) throws -> Int {
        try store.write { try EventAppender(store: store).merge(events) }
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

    /// Refuses new batches, commits the queued ones, merges everything pending into the store,
    /// and returns when both threads have ended.
    public func stop() {
        // Idempotent: a second call (the service's stop, then the owner's shutdown) returns once
        // the first one's work is done.
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        mergeCondition.lock()
        mergeCondition.signal()
        while !mergeFinished { mergeCondition.wait() }
        mergeCondition.unlock()
    }
}
