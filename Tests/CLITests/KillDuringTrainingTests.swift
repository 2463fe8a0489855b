import Foundation
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Retraining into a served model directory: a run killed part-way leaves the published model as
/// it was, is marked interrupted at the next start, and its leftovers are removed.
struct KillDuringTrainingTests {
    @Test func aKilledRunLeavesThePublishedModelAndIsMarkedInterrupted() async throws {
        let dir = Scratch()
        try await Tool.smallStore(in: dir)
        try await Tool.succeed(["split", "--store", dir.file("s.sqlite"), "--method", "leave-last-out"])
        try Data(#"{"epochs": 2, "batch_size": 256, "embedding_dimension": 16}"#.utf8).write(to: URL(fileURLWithPath: dir.file("quick.json")))
        try await Tool.succeed(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("quick.json"), "--out", dir.file("model")])
        let published = try Data(contentsOf: URL(fileURLWithPath: dir.file("model/model.ckpt")))

        // A long run into the same directory, killed once its first improving epoch is on disk.
        try Data(#"{"epochs": 3000, "patience": 3000, "batch_size": 64, "embedding_dimension": 16}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.file("long.json")))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tool.binary)
        process.arguments = ["train", "--store", dir.file("s.sqlite"), "--config", dir.file("long.json"), "--out", dir.file("model")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let runs = dir.file("model/runs")
        func runCheckpoint() -> String? {
            ((try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? []).map { "\(runs)/\($0)/model.ckpt" }
                .first { FileManager.default.fileExists(atPath: $0) }
        }
        await Tool.wait(seconds: 120) { !process.isRunning || runCheckpoint() != nil }
        #expect(runCheckpoint() != nil && process.isRunning, "the run should have saved an epoch and still be training")
        kill(process.processIdentifier, SIGKILL)
        await Tool.exited(process)

        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("model/model.ckpt"))) == published,
                "the published model must be the one the killed run started from")
        let store = try InteractionStore(path: dir.file("s.sqlite"), create: false)
        let killed = try #require(try store.connection.scalarInt("SELECT max(id) FROM runs"))
        #expect(try RunLog(store: store).status(of: Int(killed)) == .running, "nothing can mark a SIGKILLed run but a later start")

        // The next run finds it, marks it, removes its leftovers, and publishes its own model.
        let next = try await Tool.succeed(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("quick.json"), "--out", dir.file("model")])
        #expect(next.stdout.contains("run \(killed) did not finish") && next.stdout.contains("removed"), "\(next.stdout)")
        #expect(try RunLog(store: store).status(of: Int(killed)) == .interrupted)
        #expect(try RunLog(store: store).status(of: Int(killed) + 1) == .finished)
        #expect(!FileManager.default.fileExists(atPath: runs))
        #expect(try store.connection.scalarInt("SELECT count(*) FROM runs WHERE status = 'finished' AND summary LIKE '%\"best_validation_recall@20\":%'") == 2)
    }
}
