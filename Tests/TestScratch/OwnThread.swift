import Foundation

/// Runs `work` on a thread of its own and waits for it without holding one of Swift's cooperative
/// threads. There is one of those per core: a test that holds one for a long synchronous wait (an
/// ingest of Gowalla, a child process) starves the HTTP tests running beside it into timeouts.
/// Keep expectations outside `work`, in the test's task, where they are attributed to the test.
public func onAThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
        Thread { done.resume(with: Result { try work() }) }.start()
    }
}
