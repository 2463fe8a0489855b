import Foundation
import LinearAlgebra
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `twotower` binary (built beside this test bundle) and captures its output.
struct Tool {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let binary: String = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("twotower").path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("twotower").path,
            packageRoot + "/.build/debug/twotower",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the tool, waiting for it on a thread of its own (a demo takes tens of seconds; see
    /// `Parallel.onAThreadOfItsOwn`).
    static func run(_ arguments: [String], in directory: String = packageRoot, environment: [String: String?] = [:]) async throws -> Result {
        try await Parallel.onAThreadOfItsOwn { try runWaiting(arguments, in: directory, environment: environment) }
    }

    private static func runWaiting(_ arguments: [String], in directory: String, environment: [String: String?]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Polls `done` every few milliseconds for up to `seconds`, sleeping between polls rather than
    /// blocking a cooperative thread (the HTTP tests beside it need them).
    static func wait(seconds: Double, until done: () -> Bool) async {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Waits for `process` to end without blocking a cooperative thread.
    static func exited(_ process: Process) async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        process.waitUntilExit()  // it has ended: this only collects its status
    }

    /// Runs a command that should succeed, recording a failure with its stderr otherwise.
    @discardableResult
    static func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Result {
        let r = try await run(arguments)
        #expect(r.status == 0, "\(arguments.first!): \(r.stderr)", sourceLocation: sourceLocation)
        return r
    }

    /// A small synthetic store (300 users, 200 items, 6 clusters) at `dir/s.sqlite`.
    static func smallStore(in dir: Scratch) async throws {
        try await succeed(["synth", "--out", dir.file("data"), "--users", "300", "--items", "200", "--clusters", "6", "--seed", "3"])
        try await succeed(["ingest", "--format", "csv", "--input", dir.file("data"), "--store", dir.file("s.sqlite")])
    }
}

final class Scratch {
    let path = NSTemporaryDirectory() + "cli-tests-" + UUID().uuidString
    init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

struct CommandLineTests {
    @Test func helpListsEverySubcommandWithASummary() async throws {
        let result = try await Tool.run(["--help"])
        #expect(result.status == 0)
        // Summaries wrap across lines; compare with whitespace collapsed.
        let flat = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for entry in ["demo Run the pipeline end to end", "synth Generate the synthetic data set",
                      "ingest Read interaction files", "split Divide a store's interactions",
                      "stats Print a store's users, items"] {
            #expect(flat.contains(entry), "no summary for \(entry.split(separator: " ")[0])")
        }
    }

    @Test(arguments: [("demo", "--dataset", "LightGCN"), ("synth", "--seed", "Seed for every random choice"),
                      ("ingest", "--on-error", "roll back"), ("split", "--method", "leave-last-out"),
                      ("stats", "--json", "JSON instead of a table")])
    func eachSubcommandExplainsItsOptions(command: String, option: String, explanation: String) async throws {
        let result = try await Tool.run([command, "--help"])
        #expect(result.status == 0)
        let flat = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(flat.contains("OPTIONS:") && flat.contains(option))
        #expect(flat.contains(explanation), "\(command) --help does not explain \(option)")
    }

    @Test func synthIngestSplitAndStatsJSON() async throws {
        let dir = Scratch()
        let synth = try await Tool.run(["synth", "--out", dir.file("data"), "--users", "200", "--items", "150", "--clusters", "6", "--seed", "5"])
        #expect(synth.status == 0, "\(synth.stderr)")
        let ingest = try await Tool.run(["ingest", "--format", "csv", "--input", dir.file("data"), "--store", dir.file("s.sqlite"), "--json"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(ingest.stdout.utf8)) as? [String: Any]
        #expect(report?["new_users"] as? Int == 200)
        let split = try await Tool.run(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"])
        #expect(split.status == 0 && split.stdout.contains("test 200"), "\(split.stdout)\(split.stderr)")
        let stats = try await Tool.run(["stats", "--store", dir.file("s.sqlite"), "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        #expect(json?["users"] as? Int == 200 && json?["items"] as? Int == 150)
        let splits = json?["splits"] as? [String: [String: Int]]
        #expect(splits?["leave-last-out"]?["test"] == 200 && splits?["leave-last-out"]?["validation"] == 200)
        #expect((json?["interactions_per_user"] as? [String: Any])?["p50"] != nil)
        let evaluate = try await Tool.run(["evaluate", "--store", dir.file("s.sqlite"), "--model", "popularity", "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let metrics = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(metrics?["users"] as? Int == 200)
        for key in ["recall@20", "ndcg@20", "hitrate@10", "mrr@50", "precision@10"] { #expect(metrics?[key] is Double, "\(key)") }
        let table = try await Tool.run(["stats", "--store", dir.file("s.sqlite")])
        #expect(table.stdout.contains("interactions per") && table.stdout.contains("leave-last-out"))
    }

    @Test func aMalformedInputExitsNonZeroNamingFileLineFieldAndValue() async throws {
        let dir = Scratch()
        try Data("user,item\nu1,i1\nu2,\n".utf8).write(to: URL(fileURLWithPath: dir.file("bad.csv")))
        let result = try await Tool.run(["ingest", "--format", "csv", "--input", dir.file("bad.csv"), "--store", dir.file("s.sqlite")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bad.csv:3: field 'item' has value \"\": empty id"), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
        let skip = try await Tool.run(["ingest", "--format", "csv", "--input", dir.file("bad.csv"), "--store", dir.file("s.sqlite"), "--on-error", "skip"])
        #expect(skip.status == 0 && skip.stdout.contains("Skipped 1 malformed lines"), "\(skip.stdout)")
    }

    @Test func usageErrorsAndRuntimeErrorsExitDifferently() async throws {
        // A bad command line: the message and the usage, EX_USAGE.
        let usage = try await Tool.run(["split", "--store", "y", "--method", "sideways"])
        #expect(usage.status == 64 && usage.stderr.contains("Usage:"))
        // A failure once the command runs: the message alone, exit 1.
        let runtime = try await Tool.run(["stats", "--store", "/nonexistent/store.sqlite"])
        #expect(runtime.status == 1 && runtime.stderr.hasPrefix("Error: ") && !runtime.stderr.contains("Usage:"), "\(runtime.stderr)")
        // A negative number is read as a value, then refused with its range.
        let negative = try await Tool.run(["split", "--store", "y", "--method", "random-ratio", "--validation", "-1"])
        #expect(negative.status == 64 && negative.stderr.contains("--validation must be in [0, 1), not -1.0"), "\(negative.stderr)")
    }

    @Test func commandsRunOutsideTheRepositoryOnBuiltInDefaults() async throws {
        let dir = Scratch()
        try await Tool.smallStore(in: dir)
        let elsewhere = dir.file("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let split = try await Tool.run(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"], in: elsewhere)
        #expect(split.status == 0, "\(split.stderr)")
        try Data(#"{"epochs": 1, "embedding_dimension": 8}"#.utf8).write(to: URL(fileURLWithPath: dir.file("one.json")))
        // No Config/ here: train without --config uses the built-in defaults (trimmed by --config below).
        let train = try await Tool.run(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("one.json"), "--out", dir.file("m")], in: elsewhere)
        #expect(train.status == 0, "\(train.stderr)")
        let embed = try await Tool.run(["embed", "--model", dir.file("m"), "--items", "--out", dir.file("i.npy")], in: elsewhere)
        #expect(embed.status == 0, "\(embed.stderr)")
        let build = try await Tool.run(["build-index", "--vectors", dir.file("i.npy"), "--out", dir.file("idx")], in: elsewhere)
        #expect(build.status == 0, "\(build.stderr)")
        // An explicitly named configuration that is missing is still an error, naming it.
        let missing = try await Tool.run(["build-index", "--vectors", dir.file("i.npy"), "--out", dir.file("idx"), "--config", "nowhere.json"], in: elsewhere)
        #expect(missing.status == 1 && missing.stderr.contains("nowhere.json"))
    }

    @Test func helpTextsDescribeWhatTheCommandsDoToday() async throws {
        let train = try await Tool.run(["train", "--help"]).stdout
        #expect(!train.contains("Today's towers") && train.contains("history encoder"))
        let evaluate = try await Tool.run(["evaluate", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(evaluate.contains("train, and for the test part also validation"))
        let demo = try await Tool.run(["demo", "--help"]).stdout
        #expect(!demo.contains("when the daemon lands") && demo.contains("query daemon"))
    }

    @Test func serveOnABusyPortSaysSo() async throws {
        let listener = try await Tool.run(["serve", "--help"])
        #expect(listener.status == 0)
        let dir = Scratch()
        try await Tool.smallStore(in: dir)
        try await Tool.succeed(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"])
        try Data(#"{"epochs": 1, "embedding_dimension": 8}"#.utf8).write(to: URL(fileURLWithPath: dir.file("one.json")))
        try await Tool.succeed(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("one.json"), "--out", dir.file("m")])
        try await Tool.succeed(["embed", "--model", dir.file("m"), "--items", "--out", dir.file("i.npy")])
        try await Tool.succeed(["build-index", "--vectors", dir.file("i.npy"), "--nlist", "4", "--out", dir.file("idx")])
        // Hold a port, then ask the daemon for it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 1)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let busy = try await Tool.run(["serve", "--store", dir.file("s.sqlite"), "--model", dir.file("m"), "--index", dir.file("idx"), "--port", "\(port)"])
        #expect(busy.status == 1 && busy.stderr.contains("cannot listen on 127.0.0.1:\(port): address already in use"), "\(busy.stderr)")
    }

    @Test func badFlagsAreRejectedBeforeAnyWork() async throws {
        let r1 = try await Tool.run(["ingest", "--format", "parquet", "--input", "x", "--store", "y"])
        #expect(r1.status != 0 && r1.stderr.contains("parquet"))
        let r2 = try await Tool.run(["split", "--store", "y", "--method", "sideways"])
        #expect(r2.status != 0 && r2.stderr.contains("sideways"))
        let r3 = try await Tool.run(["stats", "--store", "/nonexistent/store.sqlite"])
        #expect(r3.status != 0 && r3.stderr.contains("/nonexistent/store.sqlite"))
    }

    @Test func theDemoRunsThePipelineAndReplacesItsStoreAtomically() async throws {
        let dir = Scratch()
        // The built-in recipe, scaled down so the test stays quick.
        try Data(#"{"users": 600, "items": 300, "clusters": 8, "seed": 42}"#.utf8).write(to: URL(fileURLWithPath: dir.file("spec.json")))
        let result = try await Tool.run(["demo", "--workdir", dir.path, "--synthetic-spec", dir.file("spec.json"), "--epochs", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        // The general default recipe, its sizes derived from the data and its refit.
        #expect(result.stdout.contains("training configuration: Config/train.json; derived from the data: batch_size, embedding_dimension, extra_negatives, history_length, warmup_steps"))
        #expect(result.stdout.contains("sizes derived from the train part: batch_size 256") && result.stdout.contains("refit on 'leave-last-out (train + validation)'"))
        for step in ["==> synth", "==> ingest", "==> split", "==> train", "==> build the index", "==> evaluate exactly and through the index",
                     "==> serve", "GET /v1/users/u0/recommendations?k=5 → 200", "daemon drained and stopped", "HTTP top-10 latency p50 / p99",
                     "==> report", "Summary"] {
            #expect(result.stdout.contains(step), "missing \(step)")
        }
        let store = try InteractionStore(path: dir.file("store.sqlite"), create: false)
        let stats = try StoreStatistics(store: store)
        #expect(stats.users == 600 && stats.items == 300)
        #expect(stats.splits["leave-last-out"]?["test"] == 600)
        #expect(try store.count("runs") == 1 && store.count("run_epochs") == 3)
        #expect(!FileManager.default.fileExists(atPath: dir.file("store.sqlite.building")))
        #expect(FileManager.default.fileExists(atPath: dir.file("model/model.ckpt")))
        #expect(FileManager.default.fileExists(atPath: dir.file("index/CURRENT")))
        let report = try String(contentsOfFile: dir.file("report.html"), encoding: .utf8)
        #expect(report.components(separatedBy: "<svg").count - 1 == 7)
    }

    /// `demo --dataset`: a folder the project ships no configuration for trains with the general
    /// default; one named like a shipped set uses that set's configuration.
    @Test(arguments: [("my-checkins", "Config/train.json; derived from the data"), ("gowalla", "Config/gowalla.json")])
    func theDemoPicksTheConfigurationByDataSet(folder: String, expected: String) async throws {
        let dir = Scratch()
        let data = dir.file(folder)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        // 48 users over 36 items in three groups: 7 train and 2 test items each.
        var train = "", test = ""
        for u in 0..<48 {
            let items = (0..<9).map { (u % 3) * 12 + (u + $0 * 5) % 12 }
            train += "\(u) " + items.prefix(7).map(String.init).joined(separator: " ") + "\n"
            test += "\(u) " + items.suffix(2).map(String.init).joined(separator: " ") + "\n"
        }
        try Data(train.utf8).write(to: URL(fileURLWithPath: (data as NSString).appendingPathComponent("train.txt")))
        try Data(test.utf8).write(to: URL(fileURLWithPath: (data as NSString).appendingPathComponent("test.txt")))
        let result = try await Tool.run(["demo", "--dataset", data, "--workdir", dir.file("work"), "--epochs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("training configuration: " + expected), "\(result.stdout.prefix(3_000))")
        #expect(result.stdout.contains("sizes derived from the train part") == (folder != "gowalla"))
    }
}
