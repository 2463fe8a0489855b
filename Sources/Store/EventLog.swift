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
/// daemon appends to one at a time and switches to another for each merge): what makes an
/// accepted event durable. Appending a group of events is one record written at the log's end
/// and one `fdatasync`, where inserting them into the store's interactions touches a page of each
/// of its indexes per event; the store receives the events later in large merges
/// (`EventAppender.merge`), which touch each index page once per merge.
///
/// A log's file is written once in full when it is made (its header, then zeros to `capacity`)
/// and reused after each merge (`recycle`: a new tag in the header, a new name), as RocksDB
/// recycles its write-ahead logs. An append then overwrites blocks the file already has, so its
/// `fdatasync` writes the data alone; appending to a growing file would also commit the file
/// system's journal (the new size and blocks) on every acknowledgement. The tag in each record's
/// CRC makes the records of the file's earlier uses, and a record torn by a crash, invalid: a
/// log's events are its valid records up to the first invalid one.
///
/// Merging is idempotent (an interaction already in the store is not added twice), so a crash
/// between a merge's commit and the log's recycling only means the same events are merged again.
/// The daemon that writes a log holds an exclusive `flock` on it; a log nobody holds was left
/// by a daemon that stopped (or was killed) before merging it, and `recoverAbandoned` merges it.
/// Logs written by earlier versions (SQLite databases) are still read and merged.
public final class EventLog {
    public private(set) var path: String
    private var descriptor: Int32
    private let storePath: String
    /// Bytes a fresh or recycled log's file holds at least.
    private let capacity: Int
    /// The tag of this use of the file, in its header and in every record's CRC.
    private var tag: UInt64
    /// Where the next record goes, and the file's size.
    private var end = EventLogRecord.headerSize, size = 0
    /// A log an earlier version wrote (an SQLite database), only to be read and removed.
    private var legacy = false

    /// Creates a new log beside the store at `storePath`, held by this process until `remove`:
    /// its header and `capacity` bytes of zeros are written and flushed before it returns.
    public convenience init(storePath: String, capacity: Int = 1 << 20) throws {
        try self.init(path: Self.newPath(storePath: storePath), storePath: storePath, capacity: capacity, create: true)
        tag = Self.newTag()
        do {
            try write(EventLogRecord.header(tag: tag), at: 0)
            try fill(to: max(capacity, EventLogRecord.headerSize))
            try sync()
            try Self.syncDirectory(of: path)
        } catch {
            remove()
            throw error
        }
    }

    /// Opens the log at `path` and takes its lock; throws `EventLogHeld` when another process
    /// holds it.
    private init(path: String, storePath: String, capacity: Int, create: Bool) throws {
        self.path = path
        self.storePath = storePath
        self.capacity = capacity
        tag = 0
        descriptor = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0o644)
        guard descriptor >= 0 else { throw failure("cannot open the event log") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw EventLogHeld()
        }
        if !create {
            let head = try read(from: 0, count: EventLogRecord.headerSize)
            legacy = head.starts(with: Array("SQLite format 3".utf8))
            tag = EventLogRecord.tag(inHeader: head[...]) ?? 0
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    private struct EventLogHeld: Error {}

    private static func newPath(storePath: String) -> String {
        let time = String(UInt64(Date().timeIntervalSince1970 * 1e9)), tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(storePath).events-\(String(repeating: "0", count: max(0, 20 - time.count)))\(time)-\(getpid())-\(tag)"
    }

    /// A tag no earlier use of a file had (0 marks a log without a valid header).
    private static func newTag() -> UInt64 { UInt64.random(in: 1...UInt64.max) }

    /// Merges every log beside the store that no process holds (left by a daemon that stopped
    /// before merging it) with `merge`, then deletes it; returns how many events they held.
    public static func recoverAbandoned(storePath: String, merge: ([LoggedEvent]) throws -> Void) throws -> Int {
        let url = URL(fileURLWithPath: storePath)
        let directory = url.deletingLastPathComponent().path, prefix = url.lastPathComponent + ".events-"
        var recovered = 0
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        where name.hasPrefix(prefix) && !name.hasSuffix("-wal") && !name.hasSuffix("-shm") {
            let log: EventLog
            do {
                log = try EventLog(path: directory + "/" + name, storePath: storePath, capacity: 0, create: false)
            } catch is EventLogHeld { continue } catch StoreError.unwritable { continue }
            let events = try log.events()
            if !events.isEmpty { try merge(events) }
            recovered += events.count
            log.remove()
        }
        return recovered
    }

    /// Deletes the log's file (once everything in it is in the store), then lets its lock go.
    public func remove() {
        for suffix in ["-wal", "-shm", ""] { unlink(path + suffix) }
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// Empties the log for reuse once everything in it is in the store: a new tag (flushed
    /// before it returns, so no later append can be read under the old one), a new name (so
    /// logs still sort by when they started), and the file grown to half again what this use
    /// of it held when that is more than it has.
    public func recycle() throws {
        guard descriptor >= 0, !legacy else { throw failure("the event log is closed") }
        let used = end
        tag = Self.newTag()
        try write(EventLogRecord.header(tag: tag), at: 0)
        try fill(to: max(capacity, used + used / 2))
        try sync()
        end = EventLogRecord.headerSize
        let renamed = Self.newPath(storePath: storePath)
        guard rename(path, renamed) == 0 else { throw failure("cannot rename the event log") }
        path = renamed
        try Self.syncDirectory(of: path)
    }

    /// Appends events as one record, numbered from `firstID` (the writer's own sequence, which
    /// runs on across its logs), and returns them with their ids. When it returns, the events
    /// are on disk; when it throws, none of them counts (the next append overwrites the record).
    public func append(_ events: [(user: String, item: Int, timestamp: Int64, weight: Double?)], firstID: Int64) throws -> [LoggedEvent] {
        guard descriptor >= 0, !legacy else { throw failure("the event log is closed") }
        let record = EventLogRecord.encode(events, firstID: firstID, tag: tag)
        try write(record, at: end)
        try sync()
        end += record.count
        size = max(size, end)
        return events.enumerated().map { n, e in
            LoggedEvent(id: firstID + Int64(n), user: e.user, item: e.item, timestamp: e.timestamp, weight: e.weight)
        }
    }

    /// Every event in the log, oldest first.
    public func events() throws -> [LoggedEvent] {
        guard descriptor >= 0 else { throw failure("the event log is closed") }
        if legacy { return try legacyEvents() }
        guard tag != 0 else { return [] }  // no valid header: the log was never used
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("cannot read the event log") }
        let body = try read(from: EventLogRecord.headerSize, count: max(0, Int(status.st_size) - EventLogRecord.headerSize))
        return EventLogRecord.decode(body[...], tag: tag)
    }

    /// Events in the log.
    public func count() throws -> Int { try events().count }

    /// The rows of a log an earlier version wrote: an SQLite database with one table.
    private func legacyEvents() throws -> [LoggedEvent] {
        var out: [LoggedEvent] = []
        let connection = try Connection(path: path)
        try? connection.skipCheckpointOnClose()  // the file goes next: no point copying its WAL in first
        try connection.cached("SELECT id, user, item, ts, weight FROM event_log ORDER BY id").query {
            out.append(LoggedEvent(id: $0.int64(0), user: $0.string(1), item: $0.int(2), timestamp: $0.int64(3), weight: $0.optionalDouble(4)))
        }
        return out
    }

    private func write(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("cannot write the event log") }
            done += n
        }
    }

    /// Writes zeros from the file's end to `target` bytes (blocks allocated and written now, so
    /// later appends only overwrite them).
    private func fill(to target: Int) throws {
        if size == 0 {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw failure("cannot read the event log") }
            size = Int(status.st_size)
        }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        while size < target {
            let chunk = min(zeros.count, target - size)
            try write(Array(zeros.prefix(chunk)), at: size)
            size += chunk
        }
    }

    private func sync() throws {
        while fdatasync(descriptor) != 0 {
            guard errno == EINTR else { throw failure("cannot flush the event log") }
        }
    }

    private func read(from offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw failure("cannot read the event log") }
            if n == 0 { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }

    /// Makes a new or renamed file's name durable.
    private static func syncDirectory(of path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let d = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard d >= 0 else { return }
        defer { close(d) }
        _ = fsync(d)
    }

    private func failure(_ what: String) -> StoreError {
        .unwritable(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}
