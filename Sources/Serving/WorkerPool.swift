import Foundation
import ServiceLifecycle

/// A fixed set of threads for the CPU work of requests (tower inference, index probes), off the
/// event loops. The queue is bounded: when `queueLimit` jobs wait, `run` fails at once with
/// `APIError.overloaded` (503 + Retry-After) instead of queueing without bound; a job still
/// waiting at its deadline fails with `APIError.deadlineExceeded`.
///
/// As a `Service` of the daemon's group it starts first and stops last: on graceful shutdown it
/// lets queued jobs finish, then ends its threads.
public final class WorkerPool: Service, @unchecked Sendable {
    public let threads: Int
    public let queueLimit: Int
    private let condition = NSCondition()
    private var jobs: [(deadline: ContinuousClock.Instant, run: (Bool) -> Void)] = []
    private var head = 0
    private var stopped = false
    private var running = 0

    public init(threads: Int, queueLimit: Int) {
        self.threads = max(threads, 1)
        self.queueLimit = max(queueLimit, 1)
        running = self.threads
        for n in 0..<self.threads {
            Thread { self.work(n) }.start()  // each thread keeps the pool alive until shutdown()
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

    /// The service: waits for the group's graceful shutdown, then drains.
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                self.condition.lock()
                while self.running > 0 { self.condition.wait() }
                self.condition.unlock()
                done.resume()
            }.start()
        }
    }

    /// Lets queued jobs finish, then ends the threads; later `run` calls fail with 503.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work(_ n: Int) {
        // Behind the event loops and the event writer: a search is the long work, and the short
        // work (answers, event commits) should not wait a time slice for it.
        ThreadPriority.setForCurrentThread(ThreadPriority.worker, name: "tt-worker-\(n)")
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count && stopped {
                running -= 1
                condition.broadcast()
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
