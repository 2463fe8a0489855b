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

    public var description: String { "events[\(index)]: unknown item '\(item)' (items are added with PUT /v1/items/{id})" }
}

/// Appends batches of online events inside one write transaction of the caller (group commit:
/// many batches, one commit). Each batch is all-or-nothing: its items are all looked up before
/// any of its rows is written, so a batch naming an unknown item writes nothing and the others
/// in the same transaction are unaffected. Unknown users are created. Built for one
/// transaction: it caches the store's next ids, which other connections may move between
/// transactions.
public final class EventAppender {
    private let store: InteractionStore
    private let writer: StoreWriter
    private var items: [String: Int] = [:]

    public init(store: InteractionStore) throws {
        self.store = store
        writer = try StoreWriter(store: store)
    }

    /// Writes one batch, or throws `UnknownEventItem` having written nothing.
    public func append(_ events: [NewEvent]) throws -> AppendedEvents {
        var dense: [Int] = []
        dense.reserveCapacity(events.count)
        for (n, event) in events.enumerated() {
            if let known = items[event.item] {
                dense.append(known)
            } else if let found = try store.denseID(of: .item, raw: event.item) {
                items[event.item] = found
                dense.append(found)
            } else {
                throw UnknownEventItem(index: n, item: event.item)
            }
        }
        var result = AppendedEvents()
        let usersBefore = writer.created[.user]!
        for (event, item) in zip(events, dense) {
            let user = try writer.id(of: .user, raw: event.user)
            if try writer.recordInteraction(user: user, item: item, timestamp: event.timestamp, weight: event.weight).new {
                result.added += 1
            } else {
                result.duplicates += 1
            }
        }
        result.newUsers = writer.created[.user]! - usersBefore
        return result
    }
}

extension InteractionStore {
    /// Commits on this connection wait for the disk (`PRAGMA synchronous = FULL`): a commit that
    /// returned survives a power cut, not only a killed process. For writers that acknowledge
    /// each commit to a client.
    public func makeCommitsDurable() throws {
        try connection.execute("PRAGMA synchronous = FULL")
    }
}
