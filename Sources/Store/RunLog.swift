import Foundation
import SQLite

/// Records training and evaluation runs in the store's `runs` and `run_epochs` tables, so a
/// store carries the history of what was trained on it.
public struct RunLog {
    public let store: InteractionStore

    public init(store: InteractionStore) { self.store = store }

    /// Starts a run; returns its id.
    public func start(kind: String, config: String) throws -> Int {
        try store.connection.prepare("INSERT INTO runs(kind, config, started_at) VALUES (?, ?, ?)")
            .run(.text(kind), .text(config), .text(ISO8601DateFormatter().string(from: Date())))
        return Int(store.connection.lastInsertRowID)
    }

    /// Records one epoch's metrics (JSON text).
    public func epoch(run: Int, epoch: Int, metrics: String) throws {
        try store.connection.prepare("INSERT OR REPLACE INTO run_epochs(run, epoch, metrics) VALUES (?, ?, ?)")
            .run(.integer(Int64(run)), .integer(Int64(epoch)), .text(metrics))
    }

    /// Marks the run finished with its wall time and a summary (JSON text).
    public func finish(run: Int, wallSeconds: Double, summary: String) throws {
        try store.connection.prepare("UPDATE runs SET finished_at = ?, wall_seconds = ?, summary = ? WHERE id = ?")
            .run(.text(ISO8601DateFormatter().string(from: Date())), .real(wallSeconds), .text(summary), .integer(Int64(run)))
    }
}
