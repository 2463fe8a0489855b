import Foundation
import LinearAlgebra
import Randomness
import Synchronization
import Testing
@testable import VectorIndex

struct IndexUpdateTests {
    func makeIndex(_ x: Matrix, nlist: Int, encoding: VectorEncoding = .flat, chunk: Int, dir: IndexDir) throws -> IVFIndex {
        var p = ivfParameters(nlist: nlist)
        p.encoding = encoding
        p.chunkCapacity = chunk
        _ = try IndexBuilder.build(vectors: x, parameters: p, into: dir.path)
        return try IVFIndex(path: dir.path, writable: true)
    }

    @Test(arguments: [VectorEncoding.flat, .sq8, .pq4])
    func aRandomSequenceOfUpdatesMatchesAReferenceMap(encoding: VectorEncoding) throws {
        let dir = IndexDir()
        let d = 8
        let x = randomMatrix(300, d, seed: 31)
        let index = try makeIndex(x, nlist: 6, encoding: encoding, chunk: 16, dir: dir)  // small chunks: many chunk edges
        var reference: [Int64: [Float]] = [:]
        for r in 0..<300 { reference[Int64(r)] = Array(x.row(r)) }
        var rng = SplitMix64(seed: 32)
        for step in 0..<400 {
            let choice = rng.next() % 3
            if choice == 0, let victim = reference.keys.sorted().randomElement(using: &rng) {
                let report = try index.delete(ids: [victim, 99_999])
                #expect(report.deleted == 1 && report.missing == [99_999])
                reference[victim] = nil
            } else {
                let id = choice == 1 ? Int64(1_000 + step) : Int64(rng.next() % 300)   // new, or maybe existing
                let v = (0..<d).map { _ in Float(rng.nextGaussian()) }
                try index.upsert(ids: [id], vectors: Matrix(rows: 1, cols: d, values: v))
                reference[id] = v
            }
        }
        // Every id maps to its latest vector, deleted ids are gone, and sizes add up.
        for (id, v) in reference {
            let stored = try index.vector(id: id)
            #expect(stored == v, "id \(id)")
        }
        #expect(try index.listSizes().reduce(0, +) == reference.count)
        // Probing every list ranks exactly like brute force over the reference (flat), and SQ8
        // with re-ranking finds the same nearest neighbour.
        let ids = reference.keys.sorted()
        let base = Matrix(rows: ids.count, cols: d, values: ids.flatMap { reference[$0]! })
        for qi in 0..<10 {
            let q = Array(randomMatrix(1, d, seed: 100 + UInt64(qi)).values)
            let expected = naiveTopK(q, base, k: 5, metric: .innerProduct).map { ids[Int($0)] }
            var p = SearchParameters(k: 5, nprobe: 6)
            p.rerankFactor = 1_000
            let found = try index.search(q, parameters: p).map(\.id)
            #expect(found == expected)
        }
    }

    /// Bulk calls: batches of upserts (new and existing ids, some twice across batches) and of
    /// deletes (holes anywhere, tails of lists, whole lists) are grouped per list; the result
    /// must equal applying them one by one.
    @Test(arguments: [VectorEncoding.flat, .pq4])
    func batchedUpdatesMatchAReferenceMap(encoding: VectorEncoding) throws {
        let dir = IndexDir()
        let d = 8
        let x = randomMatrix(500, d, seed: 41)
        let index = try makeIndex(x, nlist: 5, encoding: encoding, chunk: 32, dir: dir)
        var reference: [Int64: [Float]] = [:]
        for r in 0..<500 { reference[Int64(r)] = Array(x.row(r)) }
        var rng = SplitMix64(seed: 42)
        for batch in 0..<40 {
            let size = 1 + Int(rng.next() % 120)
            if rng.next() % 3 == 0 {
                let victims = Array(reference.keys.sorted().shuffled(using: &rng).prefix(size)) + [77_777]
                let report = try index.delete(ids: victims)
                #expect(report.deleted == victims.count - 1 && report.missing == [77_777])
                for v in victims { reference[v] = nil }
            } else {
                var ids: [Int64] = []
                var seen = Set<Int64>()
                while ids.count < size {
                    let id = rng.next() % 2 == 0 ? Int64(10_000 + batch * 200 + ids.count) : Int64(rng.next() % 600)
                    if seen.insert(id).inserted { ids.append(id) }
                }
                let values = (0..<(size * d)).map { _ in Float(rng.nextGaussian()) }
                let report = try index.upsert(ids: ids, vectors: Matrix(rows: size, cols: d, values: values))
                #expect(report.added + report.replaced == size)
                #expect(report.replaced == ids.filter { reference[$0] != nil }.count)
                for (i, id) in ids.enumerated() { reference[id] = Array(values[(i * d)..<((i + 1) * d)]) }
            }
            #expect(try index.listSizes().reduce(0, +) == reference.count, "after batch \(batch)")
        }
        for (id, v) in reference { #expect(try index.vector(id: id) == v, "id \(id)") }
        let reopened = try IVFIndex(path: dir.path)
        #expect(reopened.metadata.count == reference.count)
        let (stored, storedIDs) = try reopened.allVectors()
        #expect(Set(storedIDs) == Set(reference.keys) && stored.rows == reference.count)
    }

    /// A bulk update writes each new entry once: adding as many vectors again leaves the file
    /// within 1.3× of a fresh build of all of them (an append used to rewrite its list's last chunk
    /// each time, 9× the size).
    @Test func aBulkUpdateGrowsTheFileByAboutWhatItAdds() throws {
        let x = randomMatrix(40_000, 16, seed: 51)
        let half = Matrix(rows: 20_000, cols: 16, values: Array(x.values.prefix(20_000 * 16)))
        let rest = Matrix(rows: 20_000, cols: 16, values: Array(x.values.suffix(20_000 * 16)))
        let updated = IndexDir(), fresh = IndexDir()
        let index = try makeIndex(half, nlist: 64, chunk: 1_024, dir: updated)
        try index.upsert(ids: (20_000..<40_000).map(Int64.init), vectors: rest)
        _ = try makeIndex(x, nlist: 64, chunk: 1_024, dir: fresh)
        func size(_ dir: IndexDir) throws -> Int {
            let version = try #require(IndexDirectory(root: dir.path).currentVersion())
            return try #require(try FileManager.default.attributesOfItem(atPath: version + "/data.mdb")[.size] as? Int)
        }
        let (a, b) = (try size(updated), try size(fresh))
        #expect(Double(a) <= 1.3 * Double(b), "updated \(a) B vs fresh \(b) B")
        #expect(try IVFIndex(path: updated.path).listSizes().reduce(0, +) == 40_000)
    }

    @Test func aReaderOpenedBeforeAnUpdateDoesNotSeeIt() throws {
        let dir = IndexDir()
        let x = randomMatrix(100, 4, seed: 33)
        let index = try makeIndex(x, nlist: 2, chunk: 1_024, dir: dir)
        let q = Array(x.row(5))
        let parameters = SearchParameters(k: 3, nprobe: 2)
        let newcomer = q.map { $0 * 10 }  // would rank first for q
        try index.lists.read { before in
            let old = try index.scan(q, centroidScores: [0, 0], parameters: parameters, reader: before).neighbors
            try index.delete(ids: [5])
            try index.upsert(ids: [777], vectors: Matrix(rows: 1, cols: 4, values: newcomer))
            #expect(try index.scan(q, centroidScores: [0, 0], parameters: parameters, reader: before).neighbors == old)
            #expect(old.map(\.id).contains(5))
        }
        let now = try index.search(q, parameters: parameters).map(\.id)
        #expect(now.first == 777 && !now.contains(5))
    }

    @Test func searchesRunWhileAWriterCommits() throws {
        let dir = IndexDir()
        let x = randomMatrix(2_000, 8, seed: 34)
        let index = try makeIndex(x, nlist: 8, chunk: 64, dir: dir)
        let failures = Mutex<[String]>([])
        let done = Mutex(false)
        let group = DispatchGroup()
        let searches = Mutex([Int](repeating: 0, count: 4))
        for t in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                var n = 0
                var rng = SplitMix64(seed: UInt64(t))
                while !done.withLock({ $0 }) || n < 50 {
                    let q = (0..<8).map { _ in Float(rng.nextGaussian()) }
                    do {
                        let found = try index.search(q, parameters: SearchParameters(k: 10, nprobe: 3))
                        if found.count != 10 { failures.withLock { $0.append("short result: \(found.count)") } }
                    } catch { failures.withLock { $0.append("\(error)") } }
                    n += 1
                }
                searches.withLock { $0[t] = n }
            }.start()
        }
        var rng = SplitMix64(seed: 35)
        for i in 0..<200 {
            let v = (0..<8).map { _ in Float(rng.nextGaussian()) }
            try index.upsert(ids: [Int64(10_000 + i)], vectors: Matrix(rows: 1, cols: 8, values: v))
            try index.delete(ids: [Int64(i)])
        }
        done.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(try index.listSizes().reduce(0, +) == 2_000)
        #expect(searches.withLock { $0 }.allSatisfy { $0 >= 50 })
    }

    @Test func updatesRejectBadVectors() throws {
        let dir = IndexDir()
        let index = try makeIndex(randomMatrix(50, 4, seed: 36), nlist: 2, chunk: 8, dir: dir)
        #expect(throws: IndexError.dimensionMismatch(expected: 4, got: 3, what: "the update")) {
            try index.upsert(ids: [1], vectors: randomMatrix(1, 3, seed: 1))
        }
        #expect(throws: IndexError.duplicateID(9)) {
            try index.upsert(ids: [9, 9], vectors: randomMatrix(2, 4, seed: 1))
        }
        #expect(try index.listSizes().reduce(0, +) == 50, "a rejected update changes nothing")
    }
}
