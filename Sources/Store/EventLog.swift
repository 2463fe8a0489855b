import Foundation
import SQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One accepted online event as the log keeps it: the user's raw id (the user may not be in the
/// store yet), the item's dense id (items are checked when the event arrives), time and weight.
public struct LoggedEvent: Sendable, Equatable {
    /// The writer's sequence number (the log's row id): events are merged in this order.
    public var id: Int64
    public var user: String
    public var item: Int
    public var timestamp: Int64
    public var weight: Double?

    public init(id: Int64, user: String, item: Int, timestamp: Int64, weight: Double?) {
        self.id = id
        self.user = user
        self.item = item
        self.timestamp = timestamp
        self.weight = weight
    }
}

/// An append-only log of online events beside a store (`<store>.events-<time>-<pid>-<tag>`; a
/// daemon writes one at a time and starts a new one for each merge): what makes an accepted
/// event durable. Appending a group of events writes only the
/// log's last pages, where inserting them into the store's interactions touches a page of each
/// of its indexes per event and made every commit write hundreds of pages; the store receives
/// the events later in large merges (`EventAppender.merge`), which touch each index page once
/// per merge.
///
/// Merging is idempotent (an interaction already in the store is not added twice), so a crash
/// between a merge's commit and the removal of the logs it merged only means the same events are
/// merged again.
/// The daemon that writes a log holds an exclusive `flock` on it; a log nobody holds was left
/// by a daemon that stopped (or was killed) before merging it, and `recoverAbandoned` merges it.
public final class EventLog {
    private var connection: Connection?
    private let lockDescriptor: Int32
    public let path: String

    /// Creates a new log beside the store at `storePath`, held by this process until `remove`.
    /// Logs are named by their creation time first, so a listing sorts them oldest first.
    public convenience init(storePath: String) throws {
        let nanoseconds = UInt64(Date().timeIntervalSince1970 * 1e9)
        let time = String(nanoseconds), tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try self.init(path: "\(storePath).events-\(String(repeating: "0", count: max(0, 20 - time.count)))\(time)-\(getpid())-\(tag)",
                      create: true)
    }

    /// Opens the log at `path` and takes its lock; nil when another process holds it.
    private init(path: String, create: Bool) throws {
        self.path = path
        lockDescriptor = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        guard lockDescriptor >= 0 else {
            throw StoreError.unwritable(path: path, reason: "cannot open the event log: \(String(cString: strerror(errno)))")
        }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(lockDescriptor)
            throw EventLogHeld()
        }
        do {
            let c = try Connection(path: path)
            try c.execute("PRAGMA synchronous = FULL")
            // No checkpoints: a log lives until the next merge (seconds) and is then deleted, so
            // a commit is only its appended WAL frames and one fsync.
            try c.execute("PRAGMA wal_autocheckpoint = 0")
            try c.execute("""
                CREATE TABLE IF NOT EXISTS event_log(
                    id INTEGER PRIMARY KEY, user TEXT NOT NULL, item INTEGER NOT NULL, ts INTEGER NOT NULL, weight REAL)
                """)
            connection = c
        } catch {
            close(lockDescriptor)
            throw error
        }
    }

    deinit {
        connection = nil
        close(lockDescriptor)
    }

    private struct EventLogHeld: Error {}

    /// Merges every log beside the store that no process holds (left by a daemon that stopped
    /// before merging it) with `merge`, then deletes it; returns how many events they held.
    public static func recoverAbandoned(storePath: String, merge: ([LoggedEvent]) throws -> Void) throws -> Int {
        let url = URL(fileURLWithPath: storePath)
        let directory = url.deletingLastPathComponent().path, prefix = url.lastPathComponent + ".events-"
        var recovered = 0
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        where name.hasPrefix(prefix) && !name.hasSuffix("-wal") && !name.hasSuffix("-shm") {
            let log: EventLog
            do { log = try EventLog(path: directory + "/" + name, create: false) } catch is EventLogHeld { continue } catch StoreError.unwritable { continue }
            let events = try log.events()
            if !events.isEmpty { try merge(events) }
            recovered += events.count
            log.remove()
        }
        return recovered
    }

    /// Closes the log and deletes its files (once everything in it is in the store).
    public func remove() {
        try? connection?.skipCheckpointOnClose()  // the files go: no point copying the WAL in first
        connection = nil
        for suffix in ["-wal", "-shm", ""] { unlink(path + suffix) }
    }

    private func opened() throws -> Connection {
        guard let connection else { throw StoreError.unwritable(path: path, reason: "the event log is closed") }
        return connection
    }

    /// Appends events in one transaction, in order, numbered from `firstID` (the writer's own
    /// sequence, which runs on across its logs), and returns them with their ids. When it
    /// returns, the events are on disk.
    public func append(_ events: [(user: String, item: Int, timestamp: Int64, weight: Double?)], firstID: Int64) throws -> [LoggedEvent] {
        let connection = try opened()
        return try connection.transaction {
            let insert = try connection.cached("INSERT INTO event_log(id, user, item, ts, weight) VALUES (?, ?, ?, ?, ?)")
            return try events.enumerated().map { n, e in
                let id = firstID + Int64(n)
                try insert.run(.integer(id), .text(e.user), .integer(Int64(e.item)), .integer(e.timestamp), .double(e.weight))
                return LoggedEvent(id: id, user: e.user, item: e.item, timestamp: e.timestamp, weight: e.weight)
            }
        }
    }

    /// Every event still in the log, oldest first.
    public func events() throws -> [LoggedEvent] {
        var out: [LoggedEvent] = []
        try opened().cached("SELECT id, user, item, ts, weight FROM event_log ORDER BY id").query {
            out.append(LoggedEvent(id: $0.int64(0), user: $0.string(1), item: $0.int(2), timestamp: $0.int64(3), weight: $0.optionalDouble(4)))
        }
        return out
    }

    /// Events in the log.
    public func count() throws -> Int { Int(try opened().scalarInt("SELECT count(*) FROM event_log") ?? 0) }
}
