import LinearAlgebra
import Testing

struct TopKAndParallelTests {
    @Test func topKKeepsTheBestWithDeterministicTies() {
        var top = TopK(k: 3)
        for (s, id) in [(0.5, 9), (0.9, 4), (0.1, 1), (0.9, 2), (0.7, 3), (0.5, 5)] as [(Float, Int64)] { top.push(s, id) }
        #expect(top.sorted().map { $0.id } == [2, 4, 3])
        #expect(top.threshold == 0.7)
    }

    @Test func topKMatchesAFullSortOnRandomScores() {
        var state: UInt64 = 9
        for k in [1, 5, 50] {
            var top = TopK(k: k)
            var all: [(Float, Int64)] = []
            for id in 0..<500 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let score = Float(state >> 54) / 16  // few distinct values: many ties
                all.append((score, Int64(id)))
                top.push(score, Int64(id))
            }
            let expected = all.sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.prefix(k).map { $0.1 }
            #expect(top.sorted().map { $0.id } == Array(expected))
        }
    }

    @Test func parallelMapKeepsPartOrderAndRethrows() throws {
        #expect(Parallel.map(parts: 5) { $0 * 10 } == [0, 10, 20, 30, 40])
        #expect(Parallel.range(2, of: 3, count: 10) == 6..<10)
        struct Failure: Error, Equatable { let part: Int }
        #expect(throws: Failure(part: 1)) {
            _ = try Parallel.map(parts: 4) { (part: Int) throws -> Int in
                if part % 2 == 1 { throw Failure(part: part) }
                return part
            }
        }
    }
}
