import Foundation
import LinearAlgebra
import Testing
import VectorIndex

#if canImport(Glibc)
import Glibc
#endif

/// A build killed with SIGKILL at any moment leaves the previous version current and searchable.
struct KillDuringBuildTests {
    @Test func killingABuildNeverChangesTheCurrentVersion() throws {
        let dir = Scratch()
        let root = dir.file("index")
        // Version 1: small, built to completion.
        let small = Matrix(rows: 500, cols: 64, values: (0..<(500 * 64)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 })
        try VectorFile.writeNPY(small, to: dir.file("small.npy"))
        let first = try Tool.run(["build-index", "--vectors", dir.file("small.npy"), "--nlist", "8", "--out", root])
        #expect(first.status == 0, "\(first.stderr)")
        let directory = IndexDirectory(root: root)
        let original = try #require(directory.currentVersion())
        let probe = Array(small.row(3))
        let expected = try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8))

        // A larger set whose build takes a few seconds.
        let n = 100_000, d = 64
        var values = [Float](repeating: 0, count: n * d)
        var state: UInt64 = 42
        for i in values.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values[i] = Float(Int64(bitPattern: state >> 11) % 2_000) / 1_000 - 1
        }
        try VectorFile.writeNPY(Matrix(rows: n, cols: d, values: values), to: dir.file("big.npy"))

        // Kill once during k-means, then at several points after the LMDB write began.
        let plans: [(waitForWrite: Bool, delay: Double)] = [(false, 0.5), (true, 0), (true, 0.03), (true, 0.08), (true, 0.15)]
        var killedWhileRunning = 0
        for plan in plans {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Tool.binary)
            process.arguments = ["build-index", "--vectors", dir.file("big.npy"), "--nlist", "128", "--out", root]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if plan.waitForWrite {
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning && Date() < deadline && !writeStarted(root) { usleep(2_000) }
            }
            usleep(UInt32(plan.delay * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedWhileRunning += 1
            }
            process.waitUntilExit()
            print("kill plan \(plan): running until kill \(process.terminationReason == .uncaughtSignal), status \(process.terminationStatus), write began \(writeStarted(root))")
            let current = try #require(directory.currentVersion())
            if process.terminationReason == .uncaughtSignal {
                #expect(current == original, "a killed build must not change CURRENT")
                let results = try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8))
                #expect(results == expected)
            } else {
                // The build won the race and finished: then the new version is complete.
                #expect(try IVFIndex(path: root).metadata.count == n)
                return
            }
        }
        #expect(killedWhileRunning >= 4)
        // The leftovers of killed builds do not stop the next build.
        let finished = try Tool.run(["build-index", "--vectors", dir.file("small.npy"), "--nlist", "8", "--out", root])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(directory.currentVersion() != original)
        #expect(try IVFIndex(path: root).search(probe, parameters: SearchParameters(k: 5, nprobe: 8)).map(\.id) == expected.map(\.id))
    }

    private func writeStarted(_ root: String) -> Bool {
        let versions = (root as NSString).appendingPathComponent("versions")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: versions)) ?? []
        return names.contains { name in
            name.hasSuffix(".building") && FileManager.default.fileExists(atPath: "\(versions)/\(name)/data.mdb")
        }
    }
}
