import Foundation
import LinearAlgebra
import LMDB
import Testing
@testable import VectorIndex

/// The build's calibration and layout choice, against exact search.
struct CalibrationTests {
    @Test func theCalibratedSettingIsTheSmallestMeasuredNprobeThatReachesTheTarget() throws {
        let (x, _) = clusteredVectors(n: 20_000, d: 16, clusters: 400, sigma: 0.35, seed: 71)
        let queries = clusteredVectors(n: 300, d: 16, clusters: 400, sigma: 0.35, seed: 72).0
        let dir = IndexDir()
        var p = BuildParameters(nlist: 200)
        p.layout = .ivf
        p.calibration = CalibrationSettings(targetRecall: 0.9, queries: queries, queriesName: "test queries")
        let report = try IndexBuilder.build(vectors: x, parameters: p, into: dir.path)
        let c = try #require(report.calibration)
        #expect(c.reached && c.recallAt10 >= 0.9 && c.queries.contains("test queries"))
        // Smaller nprobe on the curve never reaches the target; the chosen point is on the curve.
        #expect(c.curve.contains { $0.nprobe == c.nprobe && $0.rerankFactor == c.rerankFactor && $0.recallAt10 == c.recallAt10 })
        #expect(c.curve.filter { $0.nprobe < c.nprobe }.allSatisfy { $0.recallAt10 < 0.9 })
        // The recorded recall is what a search at that setting gives (re-measured independently).
        let index = try IVFIndex(path: dir.path)
        #expect(index.metadata.calibration == c, "\(String(describing: index.metadata.calibration)) vs \(c)")
        #expect(index.metadata.defaultNprobe == c.nprobe && index.metadata.nlist == 200)
        let truth = ExactSearch.search(queries: queries, base: x, ids: (0..<20_000).map(Int64.init), k: 10, metric: .innerProduct).map { $0.map(\.id) }
        let found = try (0..<queries.rows).map { try index.search(Array(queries.row($0)), parameters: SearchParameters(k: 10, nprobe: c.nprobe)).map(\.id) }
        #expect(abs(ANNEvaluation.recall(found, truth, k: 10) - c.recallAt10) < 1e-9)
        if c.nprobe > 1 {
            let fewer = try (0..<queries.rows).map { try index.search(Array(queries.row($0)), parameters: SearchParameters(k: 10, nprobe: c.nprobe - 1)).map(\.id) }
            #expect(ANNEvaluation.recall(fewer, truth, k: 10) <= c.recallAt10)
        }
    }

    @Test func withoutQueriesHeldOutIndexedVectorsAreUsedAndTheirOwnIdIsNotCounted() throws {
        let (x, _) = clusteredVectors(n: 6_000, d: 8, clusters: 60, sigma: 0.3, seed: 73)
        let dir = IndexDir()
        var p = BuildParameters(nlist: 60)
        p.layout = .ivf
        p.calibration = CalibrationSettings(targetRecall: 0.95)
        p.calibration?.maxQueries = 200
        let c = try #require(try IndexBuilder.build(vectors: x, parameters: p, into: dir.path).calibration)
        #expect(c.queries == "200 held-out indexed vectors")
        #expect(c.reached)
    }

    @Test func aSmallSetGetsOneExactListAndSaysSo() throws {
        let x = randomMatrix(3_000, 32, seed: 74)  // 384 KB of float32, far below 16 MiB
        let dir = IndexDir()
        var p = BuildParameters(nlist: 50)
        p.encoding = .pq4
        let report = try IndexBuilder.build(vectors: x, parameters: p, into: dir.path)
        #expect(report.nlist == 1 && report.encoding == .flat)
        #expect(report.layoutNote?.hasPrefix("exact") == true)
        let index = try IVFIndex(path: dir.path)
        #expect(index.metadata.layoutNote == report.layoutNote && index.metadata.calibration?.recallAt10 == 1)
        for r in [0, 17, 2_999] {
            let q = Array(randomMatrix(1, 32, seed: 80 + UInt64(r)).values)
            let expected = naiveTopK(q, x, k: 10, metric: .innerProduct)
            #expect(try index.search(q, parameters: SearchParameters(k: 10)).map(\.id) == expected)
        }
        // `layout: ivf` keeps the lists it was asked for.
        var ivf = BuildParameters(nlist: 50)
        ivf.layout = .ivf
        ivf.calibration = nil
        #expect(try IndexBuilder.build(vectors: x, parameters: ivf, into: IndexDir().path).nlist == 50)
    }

    @Test func anIndexOfTheOldFormatIsRefusedWithARebuildHint() throws {
        let dir = IndexDir()
        let built = try IndexBuilder.build(vectors: randomMatrix(40, 4, seed: 75), parameters: ivfParameters(nlist: 2), into: dir.path).path
        do {
            let env = try Environment(path: built)
            let meta = try env.database(named: "meta")
            try env.write { txn in
                var m = try MetadataCoding.decode(try #require(try txn.value(forKey: Array("meta".utf8), in: meta)), path: built)
                m.formatVersion = 1
                try txn.put(try MetadataCoding.encode(m), forKey: Array("meta".utf8), in: meta)
            }
        }
        #expect { _ = try IVFIndex(path: dir.path) } throws: { error in
            guard case .formatTooOld(_, 1, 2)? = error as? IndexError else { return false }
            return "\(error)".contains("build-index")
        }
    }
}
