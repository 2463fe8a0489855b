import Foundation
import LinearAlgebra
import Testing
@testable import Evaluation

struct FullRankingEvaluatorTests {
    /// A hand-computed case: 5 items, one user whose scores rank items 4, 3, 2, 1, 0; item 4 is a
    /// training item (masked), items 2 and 0 are held out.
    @Test func metricsMatchAHandComputedCase() {
        let data = EvaluationData(userCount: 1, itemCount: 5, masked: [[4]], heldOut: [[2, 0]])
        let scorer = EmbeddingScorer(users: Matrix([[1]]), items: Matrix([[0.1], [0.2], [0.3], [0.4], [0.5]]))
        let m = FullRankingEvaluator.evaluate(scorer, data: data, ks: [1, 2, 4], threads: 1)
        // Ranking without item 4: 3, 2, 1, 0. Hits at ranks 2 and 4.
        #expect(m.users == 1)
        #expect(m["recall@1"] == 0 && m["hitrate@1"] == 0 && m["mrr@1"] == 0)
        #expect(m["recall@2"] == 0.5 && m["precision@2"] == 0.5 && m["mrr@2"] == 0.5 && m["hitrate@2"] == 1)
        let dcg4 = 1 / log2(3.0) + 1 / log2(5.0), idcg4 = 1 + 1 / log2(3.0)
        #expect(abs(m["ndcg@4"]! - dcg4 / idcg4) < 1e-12)
        #expect(m["recall@4"] == 1 && m["precision@4"] == 0.5)
    }

    @Test func usersWithoutHeldOutItemsAreNotCountedAndThreadsDoNotChangeResults() {
        var masked: [[Int32]] = [], heldOut: [[Int32]] = []
        var state: UInt64 = 7
        func next() -> Int { state = state &* 6_364_136_223_846_793_005 &+ 1; return Int(state >> 33) }
        for u in 0..<700 {
            masked.append((0..<5).map { _ in Int32(next() % 300) })
            heldOut.append(u % 7 == 0 ? [] : (0..<3).map { _ in Int32(next() % 300) })
        }
        let data = EvaluationData(userCount: 700, itemCount: 300, masked: masked, heldOut: heldOut)
        let users = Matrix(rows: 700, cols: 8, values: (0..<5_600).map { _ in Float(next() % 1000) / 1000 })
        let items = Matrix(rows: 300, cols: 8, values: (0..<2_400).map { _ in Float(next() % 1000) / 1000 })
        let scorer = EmbeddingScorer(users: users, items: items)
        let one = FullRankingEvaluator.evaluate(scorer, data: data, threads: 1, blockSize: 64)
        let two = FullRankingEvaluator.evaluate(scorer, data: data, threads: 2, blockSize: 100)
        #expect(one.users == 600 && two.users == 600)
        // Partitions differ, so sums are added in another order: equal up to rounding.
        for (key, value) in one.values { #expect(abs(value - two.values[key]!) < 1e-12, "\(key)") }
        #expect(one["recall@50"]! > 0)
    }

    @Test func topKSkipsMaskedItemsAndBreaksTiesByItemID() {
        let scores = Matrix([[0.5, 0.9, 0.5, 0.9, 0.1]])
        #expect(FullRankingEvaluator.topK(scores, row: 0, k: 3, masked: [1]) == [3, 0, 2])
    }

    @Test func popularityRanksByTrainingCounts() {
        let data = EvaluationData(userCount: 3, itemCount: 4, masked: [[0, 1], [1], [1, 2]], heldOut: [[2], [0], [3]])
        let m = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: [1], threads: 1)
        // Popularity order 1 (3), 0 and 2 (1 each; 0 first), 3. User 0: masked 0,1 → top 2 (hit);
        // user 1: masked 1 → top 0 (hit); user 2: masked 1,2 → top 0 (miss).
        #expect(abs(m["hitrate@1"]! - 2.0 / 3.0) < 1e-12)
    }

    @Test func metricsEncodeAsFlatJSONKeys() throws {
        let json = String(decoding: try JSONEncoder().encode(RankingMetrics(values: ["recall@20": 0.5], users: 3)), as: UTF8.self)
        #expect(json.contains("\"recall@20\":0.5") && json.contains("\"users\":3"))
    }
}
