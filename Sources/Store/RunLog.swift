import Foundation
import SQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What became of a run.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running, finished, failed
    /// The process ended without finishing the run (killed, or the machine went down): found by
    /// `RunLog.markInterrupted()` at a later start.
    case interrupted
}

/// Records training and evaluation runs in the store's `runs` and `run_epochs` tables, so a
/// store carries the history of what was trained on it.
public struct RunLog {
    public let store: InteractionStore

    public init(store: InteractionStore) { self.store = store }

    /// Starts a run owned by this process; returns its id.
    public func start(kind: String, config: String) throws -> Int {
        try store.connection.prepare("INSERT INTO runs(kind, config, started_at, status, pid) VALUES (?, ?, ?, 'running', ?)")
            .run(.text(kind), .text(config), .text(ISO8601DateFormatter().string(from: Date())), .integer(Int64(getpid())))
        return Int(store.connection.lastInsertRowID)
    }

    /// Records one epoch's metrics (JSON text).
    public func epoch(run: Int, epoch: Int, metrics: String) throws {
        try store.connection.prepare("INSERT OR REPLACE INTO run_epochs(run, epoch, metrics) VALUES (?, ?, ?)")
            .run(.integer(Int64(run)), .integer(Int64(epoch)), .text(metrics))
    }

    /// Marks the run finished with its wall time and a summary (JSON text).
    public func finish(run: Int, wallSeconds: Double, summary: String) throws {
        try end(run: run, status: .finished, wallSeconds: wallSeconds, summary: summary)
    }

    /// Marks the run failed, with the error as its summary.
    public func fail(run: Int, wallSeconds: Double, error: String) throws {
        let escaped = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        try end(run: run, status: .failed, wallSeconds: wallSeconds, summary: "{\"error\":\"\(escaped)\"}")
    }

    private func end(run: Int, status: RunStatus, wallSeconds: Double, summary: String) throws {
        try store.connection.prepare("UPDATE runs SET finished_at = ?, wall_seconds = ?, summary = ?, status = ? WHERE id = ?")
            .run(.text(ISO8601DateFormatter().string(from: Date())), .real(wallSeconds), .text(summary), .text(status.rawValue),
                 .integer(Int64(run)))
    }

    /// Marks `running` runs whose process no longer exists as `interrupted`; returns their ids.
    /// A run killed with SIGKILL cannot record its own end, so every start looks for such runs.
    @discardableResult
    public func markInterrupted() throws -> [Int] {
        var stale: [Int] = []
        try store.connection.prepare("SELECT id, pid FROM runs WHERE status = 'running'").query { row in
            let pid = Int32(truncatingIfNeeded: row.int64(1))
            if pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH) { stale.append(row.int(0)) }
        }
        for id in stale {
            try store.connection.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?").run(.integer(Int64(id)))
        }
        return stale
    }

    /// The status of a run.
    public func status(of id: Int) throws -> RunStatus? {
        try store.connection.prepare("SELECT status FROM runs WHERE id = ?").first([.integer(Int64(id))]) { RunStatus(rawValue: $0.string(0)) } ?? nil
    }

    /// A recorded run: its configuration and each epoch's metrics (JSON text), in epoch order.
    public func run(_ id: Int) throws -> (config: String, epochs: [String])? {
        let statement = try store.connection.prepare("SELECT config FROM runs WHERE id = ?")
        try statement.bind([.integer(Int64(id))])
        guard try statement.step() else { return nil }
        let config = statement.string(0)
        var epochs: [String] = []
        try store.connection.prepare("SELECT metrics FROM run_epochs WHERE run = ? ORDER BY epoch").query(.integer(Int64(id))) {
            epochs.append($0.string(0))
        }
        return (config, epochs)
    }

    /// The id of the latest run of a kind.
    public func latest(kind: String) throws -> Int? {
        try store.connection.scalarInt("SELECT max(id) FROM runs WHERE kind = ?", .text(kind)).map(Int.init)
    }
}
