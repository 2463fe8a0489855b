import Foundation

/// A fixed set of threads for the CPU work of requests (tower inference, index probes), off the
/// event loops. The queue is bounded: when `queueLimit` jobs wait, `run` fails at once with
/// `APIError.overloaded` (503 + Retry-After) instead of queueing without bound; a job still
/// waiting at its deadline fails with `APIError.deadlineExceeded`.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    public let queueLimit: Int
    private let condition = NSCondition()
    private var jobs: [(deadline: ContinuousClock.Instant, run: (Bool) -> Void)] = []
    private var head = 0
    private var stopped = false

    public init(threads: Int, queueLimit: Int) {
        self.threads = max(threads, 1)
        self.queueLimit = max(queueLimit, 1)
        for n in 0..<self.threads {
            let thread = Thread { self.work() }  // each thread keeps the pool alive until shutdown()
            thread.name = "twotower-worker-\(n)"
            thread.start()
        }
    }

    /// Jobs waiting for a thread.
    public var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// Runs `body` on a worker thread and returns its result.
    public func run<T: Sendable>(deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            condition.lock()
            guard !stopped else {
                condition.unlock()
                continuation.resume(throwing: APIError.draining)
                return
            }
            guard jobs.count - head < queueLimit else {
                condition.unlock()
                continuation.resume(throwing: APIError.overloaded)
                return
            }
            jobs.append((deadline, { expired in
                if expired {
                    continuation.resume(throwing: APIError.deadlineExceeded)
                } else {
                    continuation.resume(with: Result { try body() })
                }
            }))
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets queued jobs finish, then ends the threads; later `run` calls fail with 503.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count && stopped {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.run(ContinuousClock.now > job.deadline)
        }
    }
}
