import Foundation

/// Scratch space for tests: one directory per test process, removed when the process exits.
/// Tests make their databases, checkpoints and indexes under it, so nothing is left in the
/// temporary directory even when a test fails, forgets to close a handle, or a cleanup inside
/// a test races with a server still shutting down.
public enum Scratch {
    /// The process's scratch directory.
    public static let root: String = {
        let path = NSTemporaryDirectory() + "twotower-tests-\(getpid())-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
        return path
    }()

    /// A fresh path under the scratch directory, `prefix` then a unique suffix (nothing is created).
    public static func path(_ prefix: String, suffix: String = "") -> String {
        root + "/" + prefix + "-" + UUID().uuidString + suffix
    }
}
