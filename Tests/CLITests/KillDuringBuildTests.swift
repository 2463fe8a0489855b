import Foundation
import LinearAlgebra
import Testing
import VectorIndex

#if canImport(Glibc)
import Glibc
#endif

/// A build killed with SIGKILL at any point leaves the previous version current and searchable.
/// The build is held at named phases (`TWOTOWER_TEST_HOLD_AT`) and killed there, so every run of
/// the test kills it at the same points.
struct KillDuringBuildTests {
    @Test func killingABuildNeverChangesTheCurrentVersion() async throws {
        let dir = Scratch()
        let root = dir.file("index")
        // Version 1: small, built to completion.
        let small = Matrix(rows: 500, cols: 64, values: (0..<(500 * 64)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 })
        try VectorFile.writeNPY(small, to: dir.file("small.npy"))
        let first = try await Tool.run(["build-index", "--vectors", dir.file("small.npy"), "--nlist", "8", "--out", root])
        #expect(first.status == 0, "\(first.stderr)")
        let directory = IndexDirectory(root: root)
        let original = try #require(directory.currentVersion())
        let probe = Array(small.row(3))
        let expected = try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8))

        let big = Matrix(rows: 20_000, cols: 64, values: (0..<(20_000 * 64)).map { Float(($0 * 104_729) % 2_000) / 1_000 - 1 })
        try VectorFile.writeNPY(big, to: dir.file("big.npy"))
        for phase in ["kmeans", "writing", "synced"] {
            let marker = (root as NSString).appendingPathComponent("held-\(phase)")
            try? FileManager.default.removeItem(atPath: marker)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Tool.binary)
            process.arguments = ["build-index", "--vectors", dir.file("big.npy"), "--nlist", "64", "--layout", "ivf", "--out", root]
            process.environment = ProcessInfo.processInfo.environment.merging(["TWOTOWER_TEST_HOLD_AT": phase]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            await Tool.wait(seconds: 120) { !process.isRunning || FileManager.default.fileExists(atPath: marker) }
            #expect(FileManager.default.fileExists(atPath: marker), "the build never reached \(phase)")
            // While it is held, a second build is refused at once, naming the first one's pid.
            let second = try await Tool.run(["build-index", "--vectors", dir.file("small.npy"), "--nlist", "8", "--out", root])
            #expect(second.status == 1 && second.stderr.contains("another build is running") && second.stderr.contains("pid \(process.processIdentifier)"),
                    "\(second.stderr)")
            kill(process.processIdentifier, SIGKILL)
            await Tool.exited(process)
            #expect(process.terminationReason == .uncaughtSignal)
            #expect(directory.currentVersion() == original, "a build killed at \(phase) must not change CURRENT")
            #expect(try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8)) == expected)
        }
        // The leftovers of killed builds (and their lock) do not stop the next build.
        let finished = try await Tool.run(["build-index", "--vectors", dir.file("small.npy"), "--nlist", "8", "--out", root])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(directory.currentVersion() != original)
        #expect(try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8)).map(\.id) == expected.map(\.id))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (root as NSString).appendingPathComponent("versions"))
        #expect(!leftovers.contains { $0.hasSuffix(".building") })
    }
}
