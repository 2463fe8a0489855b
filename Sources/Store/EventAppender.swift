import Foundation
import SQLite

/// One interaction arriving online (`POST /v1/events`): raw ids, a time in epoch seconds and an
/// optional weight.
public struct NewEvent: Sendable, Equatable {
    public var user: String
    public var item: String
    public var timestamp: Int64
    public var weight: Double?

    public init(user: String, item: String, timestamp: Int64, weight: Double? = nil) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
        self.weight = weight
    }
}

/// What one batch of events did to the store.
public struct AppendedEvents: Sendable, Equatable {
    /// Events written as new interactions.
    public var added = 0
    /// Events the store already held (same user, item and time): their weight replaced.
    public var duplicates = 0
    /// Users the batch created.
    public var newUsers = 0

    public init() {}
}

/// A batch that names an item the store does not have; nothing of the batch was written.
public struct UnknownEventItem: Error, CustomStringConvertible, Equatable {
    /// The event's position in its batch.
    public var index: Int
    public var item: String

    public init(index: Int, item: String) {
        self.index = index
        self.item = item
    }

    public var description: String { "events[\(index)]: unknown item '\(item)' (items are added with PUT /v1/items/{id})" }
}

/// Writes events from the event log into the store, inside one write transaction of the
/// caller: the daemon's merges and the recovery of a log left by a stopped daemon. Built for one
/// transaction: it caches the store's next ids, which other connections may move between
/// transactions.
public final class EventAppender {
    private let writer: StoreWriter

    public init(store: InteractionStore) throws {
        writer = try StoreWriter(store: store)
    }
}

extension EventAppender {
    /// Writes logged events into the store (inside the caller's transaction), creating their
    /// users; returns how many were new interactions. The events are written user by user
    /// (stable, so one user's events keep their log order and their ids the same relative
    /// order), which keeps the inserts into the per-user index together. Idempotent: an event
    /// the store already holds only has its weight set again, so merging a log twice (after a
    /// crash before the log was deleted) changes nothing.
    public func merge(_ events: [LoggedEvent]) throws -> Int {
        var rows: [(user: Int, event: LoggedEvent)] = []
        rows.reserveCapacity(events.count)
        for event in events { rows.append((try writer.id(of: .user, raw: event.user), event)) }
        let order = rows.indices.sorted { (rows[$0].user, $0) < (rows[$1].user, $1) }
        var added = 0
        for n in order {
            let (user, e) = rows[n]
            if try writer.recordInteraction(user: user, item: e.item, timestamp: e.timestamp, weight: e.weight).new { added += 1 }
        }
        return added
    }
}

extension InteractionStore {
    /// Whether the store holds the interaction (user, item, time).
    public func hasInteraction(user: Int, item: Int, timestamp: Int64?) throws -> Bool {
        try connection.cached("SELECT 1 FROM interactions WHERE user = ? AND item = ? AND coalesce(ts, '') = coalesce(?, '')")
            .first([.integer(Int64(user)), .integer(Int64(item)), timestamp.map { .integer($0) } ?? .null]) { _ in true } ?? false
    }

    /// Commits on this connection wait for the disk (`PRAGMA synchronous = FULL`): a commit that
    /// returned survives a power cut, not only a killed process. For writers that acknowledge
    /// each commit to a client.
    public func makeCommitsDurable() throws {
        try connection.execute("PRAGMA synchronous = FULL")
    }
}
