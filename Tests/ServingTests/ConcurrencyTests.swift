import Foundation
import HTTPTypes
import Hummingbird
import Model
@testable import Serving
import Store
import Testing

@Suite(.serialized) struct ConcurrencyTests {
    /// Requests keep flowing while a new model and a new index version are loaded twice (once by
    /// the admin route, once by the service directly as SIGHUP does): none fails, each names a
    /// version pair that really was served, and afterwards the new versions serve.
    @Test func reloadUnderConcurrentRequestsFailsNone() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        try await withLiveServer(fixture) { client, service in
            let first = service.snapshot
            let store = try InteractionStore(path: fixture.storePath, create: false)
            try ServingFixture.train(store: store, seed: 99, to: fixture.modelPath)
            try ServingFixture.buildIndex(modelPath: fixture.modelPath, store: store, into: fixture.indexPath, seed: 99)
            let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String, String).self) { group in
                for n in 0..<300 {
                    group.addTask {
                        try await client.execute(uri: "/v1/users/user\(n % 40)/recommendations?k=5", method: .get) { (r: TestResponse) async throws in
                            let body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any] ?? [:]
                            return (r.status, body["model_version"] as? String ?? "", body["index_version"] as? String ?? "")
                        }
                    }
                    if n == 100 {
                        group.addTask {
                            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: admin) { (r: TestResponse) async throws in
                                (r.status, "reload", "")
                            }
                        }
                    }
                    if n == 200 {
                        group.addTask { _ = try service.reload(); return (.ok, "reload", "") }
                    }
                }
                var all: [(HTTPResponse.Status, String, String)] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.count == 302)
            #expect(results.allSatisfy { $0.0 == .ok })
            let now = service.snapshot
            #expect(now.modelVersion != first.modelVersion && now.indexVersion != first.indexVersion)
            let valid: Set<String> = [first.modelVersion + first.indexVersion, now.modelVersion + now.indexVersion]
            #expect(results.filter { $0.1 != "reload" }.allSatisfy { valid.contains($0.1 + $0.2) })
            try await client.execute(uri: "/v1/users/user3/recommendations", method: .get) { (r: TestResponse) async throws in
                let body = try object(r)
                #expect(body["model_version"] as? String == now.modelVersion)
            }
        }
    }

    /// The searches run behind the threads that finish short work: a worker's nice value is the
    /// pool's, above the default the event loops keep.
    @Test func workersRunBehindTheEventLoops() async throws {
        let pool = WorkerPool(threads: 2, queueLimit: 4)
        defer { pool.shutdown() }
        let nice = try await pool.run(deadline: .now + .seconds(60)) { () -> Int32 in
            errno = 0
            return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        }
        #expect(nice == ThreadPriority.worker)
        #expect(ThreadPriority.worker > getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), "the test's own thread keeps the default")
    }

    @Test func aFullQueueAnswers503AtOnceAndAnExpiredJobIsNotRun() async throws {
        let pool = WorkerPool(threads: 1, queueLimit: 1)
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let blocker = Task { try await pool.run(deadline: .now + .seconds(60)) { started.signal(); gate.wait(); return 1 } }
        started.wait()  // the only thread is busy
        let queued = Task { try await pool.run(deadline: .now + .milliseconds(1)) { 2 } }
        while pool.queued < 1 { try await Task.sleep(for: .milliseconds(1)) }
        await #expect { try await pool.run(deadline: .now + .seconds(60)) { 3 } } throws: { error in
            (error as? APIError)?.code == "overloaded" && (error as? APIError)?.retryAfter == 1
        }
        try await Task.sleep(for: .milliseconds(20))  // the queued job's deadline passes while it waits
        gate.signal()
        #expect(try await blocker.value == 1)
        await #expect { try await queued.value } throws: { ($0 as? APIError)?.code == "deadline_exceeded" }
    }

    @Test func overloadIsCountedAndAnswered503WithRetryAfter() async throws {
        let fixture = try ServingFixture()
        defer { fixture.remove() }
        var options = fixture.options
        options.workerThreads = 1
        options.queueLimit = 1
        try await withLiveServer(ServingFixture(copying: fixture, options: options)) { client, service in
            // Occupy the only worker and the only queue slot.
            let gate = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
            let busy = Task { try await service.pool.run(deadline: .now + .seconds(60)) { started.signal(); gate.wait(); return 0 } }
            started.wait()
            let waiting = Task { try await service.pool.run(deadline: .now + .seconds(60)) { 0 } }
            while service.pool.queued < 1 { try await Task.sleep(for: .milliseconds(1)) }
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/users/user1/recommendations", method: .get) { (r: TestResponse) async throws in
                    #expect(r.status == .serviceUnavailable)
                    #expect(r.headers[.retryAfter] == "1")
                    #expect(try errorField(r) == nil)
                }
            }
            // Cheap routes do not queue: health and metrics still answer.
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            gate.signal()
            _ = try await (busy.value, waiting.value)
            try await client.execute(uri: "/v1/users/user1/recommendations", method: .get) { #expect($0.status == .ok) }
            let text = service.metrics.render()
            #expect(text.contains("twotower_queue_rejections_total 3"))
            #expect(text.contains(#"status="503"} 3"#))
        }
    }
}
