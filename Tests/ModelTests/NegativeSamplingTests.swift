import Evaluation
import Foundation
import LinearAlgebra
import Randomness
import CKernels
import Testing
@testable import Model

struct NegativeSamplingTests {
    @Test(arguments: [false, true])
    func gradientsWithExtraNegativesMatchFiniteDifferences(logQ: Bool) {
        let u = randomMatrix(5, 4, seed: 11), v = randomMatrix(5, 4, seed: 12), e = randomMatrix(3, 4, seed: 13)
        let ids: [Int32] = [0, 1, 2, 3, 4]
        let extraIDs: [Int32] = [7, 2, 9]            // item 2 is row 2's own positive: masked for that row
        let q: [Float]? = logQ ? [0.1, -0.3, 0.2, 0.0, 0.5, -1.0, 0.3, 0.7] : nil
        let masks: [[Int]] = [[7], [], [], [5], []]  // row 0 has seen extra 9 (column 7), row 3 extra 7 (column 5)
        let loss = SampledSoftmaxLoss(temperature: 0.4)
        func value(_ u: Matrix, _ v: Matrix, _ e: Matrix) -> Double {
            Double(loss.lossAndGradients(users: u, items: v, itemIDs: ids, extra: .init(embeddings: e, ids: extraIDs), logQ: q, maskedColumns: masks).loss)
        }
        let r = loss.lossAndGradients(users: u, items: v, itemIDs: ids, extra: .init(embeddings: e, ids: extraIDs), logQ: q, maskedColumns: masks)
        #expect(close(r.dUsers.values, numericGradient(u, { value($0, v, e) }), tolerance: 5e-3))
        #expect(close(r.dItems.values, numericGradient(v, { value(u, $0, e) }), tolerance: 5e-3))
        #expect(close(r.dExtra.values, numericGradient(e, { value(u, v, $0) }), tolerance: 5e-3))
    }

    @Test(arguments: [1, 7, 8, 64, 3_072])
    func theVectorisedSoftmaxRowMatchesThePortableOne(columns: Int) {
        var rng = SplitMix64(seed: UInt64(columns))
        let scores = (0..<columns).map { c -> Float in c % 11 == 5 ? -.infinity : Float(rng.nextGaussian()) * 0.6 }
        let logQ = (0..<columns).map { _ in Float(rng.nextGaussian()) }
        for positive in [0, columns - 1] where scores[positive] != -.infinity {
            var fast = scores, slow = scores
            var lossFast = 0.0, lossSlow = 0.0, dFast = 0.0, dSlow = 0.0
            logQ.withUnsafeBufferPointer { q in
                fast.withUnsafeMutableBufferPointer { tt_softmax_xent_row($0.baseAddress!, columns, positive, 1 / 0.07, q.baseAddress, 0.01, &lossFast, &dFast) }
                slow.withUnsafeMutableBufferPointer { tt_softmax_xent_row_portable($0.baseAddress!, columns, positive, 1 / 0.07, q.baseAddress, 0.01, &lossSlow, &dSlow) }
            }
            #expect(abs(lossFast - lossSlow) < 1e-4 * max(1, abs(lossSlow)))
            #expect(abs(dFast - dSlow) < 1e-4 * max(1, abs(dSlow)))
            #expect(zip(fast, slow).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) })
            #expect(zip(scores, fast).allSatisfy { $0 != -.infinity || $1 == 0 }, "masked columns get no gradient")
        }
    }

    @Test func withoutExtrasTheGeneralLossEqualsTheInBatchOne() {
        let u = randomMatrix(4, 3, seed: 14), v = randomMatrix(4, 3, seed: 15)
        let loss = SampledSoftmaxLoss(temperature: 0.3)
        let a = loss.lossAndGradients(users: u, items: v, itemIDs: [1, 2, 3, 4])
        let b = loss.lossAndGradients(users: u, items: v, itemIDs: [1, 2, 3, 4], extra: nil, logQ: nil)
        #expect(a.loss == b.loss && a.dUsers == b.dUsers && a.dItems == b.dItems)
    }

    @Test func cosineContrastiveGradientsMatchFiniteDifferences() {
        // Unnormalised inputs give cosines spread around the margin, so both branches are exercised.
        let u = randomMatrix(5, 4, seed: 21), v = randomMatrix(5, 4, seed: 22), e = randomMatrix(3, 4, seed: 23)
        let ids: [Int32] = [0, 1, 2, 1, 4]
        let extraIDs: [Int32] = [7, 4, 9]
        let masks: [[Int]] = [[6], [], [], [], []]
        let loss = CosineContrastiveLoss(margin: 0.1, negativeWeight: 3)
        func value(_ u: Matrix, _ v: Matrix, _ e: Matrix) -> Double {
            Double(loss.lossAndGradients(users: u, items: v, itemIDs: ids, extra: .init(embeddings: e, ids: extraIDs), maskedColumns: masks).loss)
        }
        let r = loss.lossAndGradients(users: u, items: v, itemIDs: ids, extra: .init(embeddings: e, ids: extraIDs), maskedColumns: masks)
        // Hinges have kinks: use a small step, away from them the derivative is exact.
        #expect(close(r.dUsers.values, numericGradient(u, { value($0, v, e) }, h: 1e-3), tolerance: 2e-2))
        #expect(close(r.dItems.values, numericGradient(v, { value(u, $0, e) }, h: 1e-3), tolerance: 2e-2))
        #expect(close(r.dExtra.values, numericGradient(e, { value(u, v, $0) }, h: 1e-3), tolerance: 2e-2))
    }

    @Test func cosineContrastiveLossMatchesAHandComputedCase() {
        // Unit vectors: cos(u0, v0) = 1, cos(u0, v1) = 0.6; cos(u1, v1) = 1, cos(u1, v0) = 0.6.
        let u = Matrix([[1, 0], [0.6, 0.8]]), v = Matrix([[1, 0], [0.6, 0.8]])
        let r = CosineContrastiveLoss(margin: 0.5, negativeWeight: 2).lossAndGradients(users: u, items: v, itemIDs: [1, 2], extra: nil)
        // Each row: (1 − 1) + 2/1 · max(0, 0.6 − 0.5) = 0.2.
        #expect(abs(r.loss - 0.2) < 1e-5)
    }

    @Test func samplersFollowTheirDistributions() {
        var rng = SplitMix64(seed: 16)
        let counts = [0, 10, 30, 60]
        let popular = NegativeSampler(distribution: .popularity, counts: counts)
        var seen = [Int](repeating: 0, count: 4)
        let draws = 200_000
        for id in popular.sample(draws, using: &rng) { seen[Int(id)] += 1 }
        for i in 0..<4 {
            let expected = popular.probabilities[i]   // (count + 1) / (total + 4)
            #expect(abs(Double(seen[i]) / Double(draws) - expected) < 0.005, "item \(i)")
        }
        #expect(abs(popular.probabilities[3] - 61.0 / 104.0) < 1e-12)
        let uniform = NegativeSampler(distribution: .uniform, counts: counts)
        seen = [0, 0, 0, 0]
        for id in uniform.sample(draws, using: &rng) { seen[Int(id)] += 1 }
        for i in 0..<4 { #expect(abs(Double(seen[i]) / Double(draws) - 0.25) < 0.005) }
    }

    @Test func learningRateSchedulesWarmUpThenDecay() {
        #expect(LearningRateSchedule.cosine.factor(step: 5, total: 110, warmup: 10) == 0.5)
        #expect(LearningRateSchedule.cosine.factor(step: 10, total: 110, warmup: 10) == 1)
        #expect(abs(LearningRateSchedule.cosine.factor(step: 60, total: 110, warmup: 10) - 0.5) < 1e-6)
        #expect(abs(LearningRateSchedule.linear.factor(step: 110, total: 110, warmup: 10)) < 1e-6)
        #expect(LearningRateSchedule.constant.factor(step: 99, total: 110, warmup: 0) == 1)
    }

    @Test func mixedNegativesWithLogQStillLearnThePlantedGroups() {
        let d = plantedData(seed: 5)
        var s = TrainerSettings()
        s.dimension = 16; s.epochs = 15; s.batchSize = 64; s.learningRate = 0.02; s.temperature = 0.2; s.seed = 3
        s.extraNegatives = 32
        s.negativeDistribution = .popularity
        s.logQCorrection = true
        s.warmupSteps = 10
        s.schedule = .cosine
        s.clipNorm = 5
        let (model, history) = Trainer(settings: s).train(pairs: d.pairs, userCount: 200, itemCount: 100, histories: d.histories)
        #expect(history.last!.loss < history.first!.loss)
        let data = EvaluationData(userCount: 200, itemCount: 100, masked: d.histories, heldOut: d.heldOut)
        let ours = FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(), items: model.itemEmbeddings()),
                                                 data: data, ks: [10])["recall@10"]!
        let popular = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: [10])["recall@10"]!
        #expect(ours > 2 * popular, "recall@10 \(ours) vs popularity \(popular)")
    }
}


/// The logQ correction of a mixed candidate set: every column by its item's expected
/// appearances over the batch and the extra draws together.
struct LogQCorrectionTests {
    @Test func columnsAreCorrectedByTheMixtureOfBothSources() {
        let counts = [3, 1, 0, 6]   // 10 examples; popularity draws ∝ count + 1 = 4, 2, 1, 7 of 14
        let sampler = NegativeSampler(distribution: .popularity, counts: counts)
        var correction = LogQCorrection(counts: counts, examples: 10, batchSize: 4, extra: sampler, extraCount: 2, weight: 0.5)
        let values = correction.values(items: [0, 3], extra: [1, 2, 3], step: 1)
        // B·max(count, 1)/N + M·p_extra; item 3 gets the same value as a positive and as a draw.
        let q: [Double] = [4 * 3 / 10 + 2 * 4 / 14, 4 * 6 / 10 + 2 * 7 / 14, 4 * 1 / 10 + 2 * 2 / 14, 4 * 1 / 10 + 2 * 1 / 14, 4 * 6 / 10 + 2 * 7 / 14]
        #expect(values.count == 5)
        for (v, expected) in zip(values, q) { #expect(abs(Double(v) - 0.5 * log(expected)) < 1e-5) }
        #expect(values[1] == values[4])
    }

    @Test func withoutExtraDrawsOnlyTheBatchCounts() {
        let counts = [5, 15]
        var correction = LogQCorrection(counts: counts, examples: 20, batchSize: 8,
                                        extra: NegativeSampler(distribution: .uniform, counts: counts), extraCount: 0)
        let values = correction.values(items: [0, 1], extra: [], step: 1)
        #expect(abs(Double(values[0]) - log(8.0 * 5 / 20)) < 1e-5 && abs(Double(values[1]) - log(8.0 * 15 / 20)) < 1e-5)
    }

    @Test func theStreamingEstimateAddsTheExtraRate() {
        let counts = [1, 1, 1, 1]
        var correction = LogQCorrection(counts: counts, examples: 4, batchSize: 2,
                                        extra: NegativeSampler(distribution: .uniform, counts: counts), extraCount: 2, streaming: true)
        // Item 0 in every batch: its estimate tends to 1; item 3 never a positive: only the extra rate 2 · 1/4.
        var last: [Float] = []
        for step in 1...50 { last = correction.values(items: [0, 1], extra: [3], step: step) }
        #expect(abs(Double(last[0]) - log(1 + 0.5)) < 1e-4)
        #expect(abs(Double(last[2]) - log(0.5)) < 1e-4)
    }
}
