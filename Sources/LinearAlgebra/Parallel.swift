import Dispatch
import Foundation
import Synchronization

/// Work split into a fixed number of parts run on their own threads: the one way the project's
/// numeric code (training steps, k-means, batched search, evaluation) uses several cores.
public enum Parallel {
    /// `body(part)` for every part in 0..<parts, each on its own thread (the caller's for one
    /// part), and the results in part order, so whatever is merged from them afterwards does not
    /// depend on scheduling. The first error thrown (by part order) is rethrown once all are done.
    public static func map<T: Sendable>(parts: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        guard parts > 1 else { return try (0..<max(parts, 0)).map(body) }
        let slots = Mutex<[Result<T, Error>?]>(Array(repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let result = Result { try body(part) }
            slots.withLock { $0[part] = result }
        }
        return try slots.withLock { $0 }.map { try $0!.get() }
    }

    /// The same for work that cannot fail.
    public static func map<T: Sendable>(parts: Int, _ body: @Sendable (Int) -> T) -> [T] {
        try! map(parts: parts) { (part: Int) throws -> T in body(part) }
    }

    /// Runs `work` on a thread of its own and waits for it without holding one of Swift's
    /// cooperative threads. There is one of those per core, so long blocking work awaited on one
    /// (a reload of a large index in the daemon, a child process or a big ingest in a test)
    /// stalls every other task on two cores: HTTP handlers, timers, keep-alive connections.
    public static func onAThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
            Thread { done.resume(with: Result { try work() }) }.start()
        }
    }

    /// The row range of `part` when `count` rows are cut into `parts` contiguous ranges.
    public static func range(_ part: Int, of parts: Int, count: Int) -> Range<Int> {
        (part * count / parts)..<((part + 1) * count / parts)
    }
}
