import Foundation
import Model

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The layout of a model directory that `twotower train` writes:
///
///     <dir>/model.ckpt             the published model: what serve, evaluate and embed read
///     <dir>/validated/model.ckpt   the early-stopped model, when a refit replaced it
///     <dir>/runs/<run>/            a run in progress: its best checkpoint so far (and, with a
///                                  refit, the validated one), and `pid`, the process writing it
///
/// A run never writes over the published files while it trains: it writes into its own
/// directory and `publish` renames its files into place when it completes, so a run killed at
/// any moment leaves the previous model where a daemon reloads from. Leftovers of killed runs
/// (their directories, `.partial` files) are removed by `removeLeftovers` at the next start.
public struct ModelDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var checkpoint: String { Checkpoint.file(in: path) }
    public var validated: String { (path as NSString).appendingPathComponent("validated") }
    var runs: String { (path as NSString).appendingPathComponent("runs") }

    /// The private directory of run `run` (created, with this process's pid in it).
    public func beginRun(_ run: Int) throws -> String {
        let directory = (runs as NSString).appendingPathComponent("\(run)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("pid")))
        return directory
    }

    /// Removes the directories of runs whose process is gone and any `.partial` file a killed
    /// write left behind. Returns what it removed.
    @discardableResult
    public func removeLeftovers() -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: runs)) ?? [] {
            let directory = (runs as NSString).appendingPathComponent(name)
            let pidText = try? String(contentsOfFile: (directory as NSString).appendingPathComponent("pid"), encoding: .utf8)
            let pid = pidText.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let alive = pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno != ESRCH)
            if !alive, (try? fm.removeItem(atPath: directory)) != nil { removed.append(directory) }
        }
        for directory in [path, validated] {
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".partial") {
                let file = (directory as NSString).appendingPathComponent(name)
                if (try? fm.removeItem(atPath: file)) != nil { removed.append(file) }
            }
        }
        return removed
    }

    /// Moves a completed run's checkpoints into place (the validated one first, then the model
    /// itself; each by one rename) and removes the run's directory.
    public func publish(run directory: String) throws {
        let fm = FileManager.default
        let runValidated = Checkpoint.file(in: (directory as NSString).appendingPathComponent("validated"))
        if fm.fileExists(atPath: runValidated) {
            try fm.createDirectory(atPath: validated, withIntermediateDirectories: true)
            try Self.move(runValidated, to: Checkpoint.file(in: validated))
        }
        try Self.move(Checkpoint.file(in: directory), to: checkpoint)
        Self.syncDirectory(path)
        try? fm.removeItem(atPath: directory)
        if ((try? fm.contentsOfDirectory(atPath: runs)) ?? []).isEmpty { try? fm.removeItem(atPath: runs) }
    }

    private static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            throw CheckpointError.unreadable(path: to, reason: "cannot move \(from) into place: \(String(cString: strerror(errno)))")
        }
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
