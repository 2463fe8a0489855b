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
