import Foundation
import LinearAlgebra
import Synchronization
import Testing
@testable import VectorIndex

struct IVFSearchTests {
    func build(_ x: Matrix, nlist: Int, metric: Metric = .innerProduct, encoding: VectorEncoding = .flat,
               ids: [Int64]? = nil, dir: IndexDir, chunk: Int = 4_096) throws -> IVFIndex {
        var p = ivfParameters(nlist: nlist)
        p.metric = metric
        p.encoding = encoding
        p.chunkCapacity = chunk
        _ = try IndexBuilder.build(vectors: x, ids: ids, parameters: p, into: dir.path)
        return try IVFIndex(path: dir.path)
    }

    @Test(arguments: [Metric.innerProduct, .cosine, .l2])
    func probingEveryListEqualsBruteForce(metric: Metric) throws {
        let dir = IndexDir()
        let x = randomMatrix(1_500, 12, seed: 21)
        let index = try build(x, nlist: 16, metric: metric, dir: dir, chunk: 50)  // small chunks: lists span several
        var base = x
        if metric == .cosine { KMeans.normalizeRows(&base) }
        let queries = randomMatrix(20, 12, seed: 22)
        let exact = ExactSearch.search(queries: queries, base: base, ids: (0..<1_500).map(Int64.init), k: 10, metric: metric)
        for r in 0..<20 {
            var q = Array(queries.row(r))
            if metric == .cosine { let n = q.reduce(0) { $0 + $1 * $1 }.squareRoot(); q = q.map { $0 / n } }
            let found = try index.search(Array(queries.row(r)), parameters: SearchParameters(k: 10, nprobe: 16)).map(\.id)
            #expect(found == naiveTopK(q, base, k: 10, metric: metric))
            #expect(exact[r].map(\.id) == found)
        }
        let batch = try index.search(batch: queries, parameters: SearchParameters(k: 10, nprobe: 16))
        #expect(batch.map { $0.map(\.id) } == exact.map { $0.map(\.id) })
    }

    @Test func filtersNeverReturnExcludedIdsAndStillReturnK() throws {
        let dir = IndexDir()
        let (x, _) = clusteredVectors(n: 1_000, d: 8, clusters: 10, sigma: 0.1, seed: 23)
        let index = try build(x, nlist: 10, dir: dir)
        let q = Array(x.row(0))
        let unfiltered = try index.search(q, parameters: SearchParameters(k: 50, nprobe: 1)).map(\.id)
        var p = SearchParameters(k: 50, nprobe: 1)
        p.exclude = Set(unfiltered)                // everything the first list would give
        p.allow = { $0 % 2 == 0 }                  // and only even ids
        let found = try index.search(q, parameters: p)
        #expect(found.count == 50, "filters must widen the probe until k results exist")
        #expect(found.allSatisfy { !unfiltered.contains($0.id) && $0.id % 2 == 0 })
        // ...and no further: one widened query must not read the whole index (it once did,
        // every list after the first, 10–20 ms per query at 1M items).
        var widened = SearchParameters(k: 20, nprobe: 1)
        let scores = index.centroidScores(q)
        let firstList = try index.listSizes()[scores.indices.max { scores[$0] < scores[$1] }!]
        widened.exclude = Set(try index.search(q, parameters: SearchParameters(k: firstList, nprobe: 1)).map(\.id))  // the whole first list
        let (neighbors, lists) = try index.lists.read { reader in
            try index.scan(q, centroidScores: index.centroidScores(q), parameters: widened, reader: reader)
        }
        #expect(neighbors.count == 20)
        #expect(lists >= 2 && lists <= 3, "read \(lists) of 10 lists for 20 items, clusters holding ~100")
        // Fewer than k allowed items in the whole index: all of them, no more.
        p.allow = { $0 < 20 }
        p.exclude = []
        #expect(try index.search(q, parameters: p).map(\.id).sorted() == Array(0..<20))
    }

    @Test func kAnswersComeBackWheneverKItemsExistEvenWithoutAFilter() throws {
        let dir = IndexDir()
        let (x, _) = clusteredVectors(n: 300, d: 8, clusters: 30, sigma: 0.05, seed: 29)
        let index = try build(x, nlist: 30, dir: dir)
        for k in [50, 299, 300, 500] {
            let found = try index.search(Array(x.row(7)), parameters: SearchParameters(k: k, nprobe: 1))
            #expect(found.count == min(k, 300), "k \(k) at nprobe 1 over lists of ~10")
            #expect(Set(found.map(\.id)).count == found.count)
        }
    }

    @Test func customIdsAreReturnedAndLookedUp() throws {
        let dir = IndexDir()
        let x = randomMatrix(200, 6, seed: 24)
        let ids = (0..<200).map { Int64($0) * 1_000 - 50_000 }  // negative and positive ids
        let index = try build(x, nlist: 4, ids: ids, dir: dir)
        let v = try index.vector(id: ids[17])
        #expect(v == Array(x.row(17)))
        #expect(try index.search(Array(x.row(17)), parameters: SearchParameters(k: 1, nprobe: 4)).first?.id == ids[17])
        #expect(throws: IndexError.unknownID(7)) { _ = try index.vector(id: 7) }
    }

    @Test func sq8KeepsRecallCloseToFlatWithAQuarterOfTheBytes() throws {
        let (x, _) = clusteredVectors(n: 4_000, d: 32, clusters: 40, sigma: 0.2, seed: 25)
        let flatDir = IndexDir(), sqDir = IndexDir()
        let flat = try build(x, nlist: 40, dir: flatDir)
        let sq = try build(x, nlist: 40, encoding: .sq8, dir: sqDir)
        let queries = clusteredVectors(n: 100, d: 32, clusters: 40, sigma: 0.2, seed: 26).0
        let truth = ExactSearch.search(queries: queries, base: x, ids: (0..<4_000).map(Int64.init), k: 10, metric: .innerProduct).map { $0.map(\.id) }
        func recall(_ index: IVFIndex) throws -> Double {
            let found = try (0..<100).map { try index.search(Array(queries.row($0)), parameters: SearchParameters(k: 10, nprobe: 4)).map(\.id) }
            return ANNEvaluation.recall(found, truth, k: 10)
        }
        let (rf, rs) = (try recall(flat), try recall(sq))
        #expect(rs >= rf - 0.01, "SQ8 recall \(rs) vs flat \(rf)")
        #expect(sq.encoding.packedBytes(count: 1_024) * 10 <= flat.encoding.packedBytes(count: 1_024) * 3, "codes scanned: a quarter of the float32 bytes")
        #expect(try sq.listSizes().reduce(0, +) == 4_000)
    }

    @Test func recallCountsOnlyTheNeighboursThatExist() {
        #expect(ANNEvaluation.recall([[1, 2, 3]], [[3, 1, 2]], k: 100) == 1)
        #expect(ANNEvaluation.recall([[1, 9]], [[1, 2]], k: 2) == 0.5)
    }

    @Test func concurrentSearchesAgreeWithSerialOnes() throws {
        let dir = IndexDir()
        let x = randomMatrix(2_000, 16, seed: 27)
        let index = try build(x, nlist: 20, dir: dir)
        let queries = randomMatrix(64, 16, seed: 28)
        let serial = try (0..<64).map { try index.search(Array(queries.row($0)), parameters: SearchParameters(k: 5, nprobe: 3)) }
        let concurrent = try Parallel.map(parts: 64) { r in
            try index.search(Array(queries.row(r)), parameters: SearchParameters(k: 5, nprobe: 3))
        }
        #expect(concurrent == serial)
    }
}
