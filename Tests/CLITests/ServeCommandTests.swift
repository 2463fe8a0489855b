import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `twotower serve` as a process: it answers over loopback, reloads on SIGHUP, and on SIGTERM
/// finishes what is in flight and exits 0.
struct ServeCommandTests {
    func get(_ url: String) async -> (status: Int, body: Data)? {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 10
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, data)
    }

    @Test func serveAnswersReloadsOnSIGHUPAndDrainsOnSIGTERM() async throws {
        let dir = Scratch()
        func run(_ args: [String]) async throws {
            let r = try await Tool.run(args)
            #expect(r.status == 0, "\(args.first!): \(r.stderr)")
        }
        try await run(["synth", "--out", dir.file("data"), "--users", "200", "--items", "150", "--clusters", "5", "--seed", "4"])
        try await run(["ingest", "--format", "csv", "--input", dir.file("data"), "--store", dir.file("s.sqlite")])
        try await run(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"])
        try Data(#"{"epochs": 2, "batch_size": 128, "embedding_dimension": 16, "history_length": 10}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.file("train.json")))
        try await run(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("train.json"), "--out", dir.file("model")])
        try await run(["embed", "--model", dir.file("model"), "--items", "--out", dir.file("items.npy")])
        try await run(["build-index", "--vectors", dir.file("items.npy"), "--nlist", "4", "--out", dir.file("index")])

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tool.binary)
        process.arguments = ["serve", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--index", dir.file("index"), "--port", "0"]
        process.currentDirectoryURL = URL(fileURLWithPath: Tool.packageRoot)
        var environment = ProcessInfo.processInfo.environment
        environment["TWOTOWER_ADMIN_TOKEN"] = "secret"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first stdout line names the port.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try #require(text.firstMatch(of: /127\.0\.0\.1:(\d+)/).map { Int($0.1)! }, "no port in: \(text)")
        let base = "http://127.0.0.1:\(port)"

        let first = await get("\(base)/v1/users/u1/recommendations?k=5")
        #expect(first?.status == 200)
        kill(process.processIdentifier, SIGHUP)
        var reloaded = false
        for _ in 0..<100 where !reloaded {
            try await Task.sleep(for: .milliseconds(50))
            reloaded = (await get("\(base)/metrics")).map { String(decoding: $0.body, as: UTF8.self).contains("twotower_reloads_total 1") } ?? false
        }
        #expect(reloaded, "SIGHUP did not reload")

        // SIGTERM while 8 clients send requests back to back, once 50 have been answered (a count,
        // not a delay, so a slow machine changes nothing): every request either completes whole or
        // is refused (connection error after the drain began); none is cut or answered 5xx.
        let pid = process.processIdentifier
        let progress = AnswerCount()
        let results = await withTaskGroup(of: [(Int, Bool)?].self) { group in
            for lane in 0..<8 {
                group.addTask {
                    var out: [(Int, Bool)?] = []
                    for n in 0..<400 {
                        guard let r = await self.get("\(base)/v1/users/u\((lane * 400 + n) % 200)/recommendations?k=10") else {
                            out.append(nil)
                            break
                        }
                        let parsed = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]
                        out.append((r.status, (parsed?["items"] as? [Any])?.count == 10))
                        await progress.increment()
                    }
                    return out
                }
            }
            group.addTask {
                for _ in 0..<3_000 where await progress.value < 50 { try? await Task.sleep(for: .milliseconds(10)) }
                kill(pid, SIGTERM)
                return []
            }
            var all: [(Int, Bool)?] = []
            for await r in group { all += r }
            return all
        }
        await Tool.exited(process)
        #expect(process.terminationStatus == 0)
        let answered = results.compactMap { $0 }
        #expect(answered.count >= 50)
        #expect(results.contains { $0 == nil }, "the daemon should have stopped answering")
        #expect(answered.allSatisfy { $0.0 == 200 && $0.1 }, "\(answered.filter { !($0.0 == 200 && $0.1) }.prefix(5))")
        let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(rest.contains("drained"))
    }
}

/// Responses received so far, shared by the client lanes.
private actor AnswerCount {
    private(set) var value = 0
    func increment() { value += 1 }
}
