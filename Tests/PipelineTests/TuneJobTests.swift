import Foundation
import Model
import Pipeline
import Settings
import Testing

/// `twotower tune` on a real store: successive halving, the base as the first trial, the budget.
@Suite(.serialized) struct TuneJobTests {
    static func base() -> TrainingConfig {
        var c = TrainingConfig()
        c.embeddingDimension = 8
        c.epochs = 4
        c.batchSize = 64
        c.patience = 2
        return c
    }

    @Test func halvingKeepsTheBetterHalfAndReturnsTheDeepestRungsBest() throws {
        let store = try PipelineFixture.store()
        var job = TuneJob(storePath: store, base: Self.base(), budget: 3_600)
        job.trials = 4
        job.firstEpochs = 1
        let outcome = try job.run { _ in }
        // 4 configurations × 1 epoch, the better 2 × 2 epochs, then the last one with the base's epochs.
        #expect(outcome.trials.filter { $0.rung == 0 }.count == 4)
        #expect(outcome.trials.filter { $0.rung == 1 }.count == 2)
        #expect(outcome.trials.filter { $0.rung == 2 }.count == 1)
        let first = outcome.trials.filter { $0.rung == 0 }
        #expect(first[0].id == 0 && first[0].temperature == Self.base().temperature && first[0].embeddingDimension == 8,
                "the base is the first trial")
        let survivors = Set(outcome.trials.filter { $0.rung == 1 }.map(\.id))
        let ranked = first.sorted { $0.validationRecall20 != $1.validationRecall20 ? $0.validationRecall20 > $1.validationRecall20 : $0.id < $1.id }
        #expect(survivors == Set(ranked.prefix(2).map(\.id)), "the better half continues")
        let last = try #require(outcome.trials.last)
        #expect(last.epochs == 4 && outcome.bestValidation == last.validationRecall20)
        #expect(outcome.best.epochs == 4 && outcome.best.patience == 2 && !outcome.stoppedByBudget)
        #expect(Set(outcome.trials.map { "\($0.temperature)|\($0.learningRate)|\($0.embeddingDimension)|\($0.extraNegatives)|\($0.loss)" })
            .count == Set(outcome.trials.map(\.id)).count, "each id is one configuration")
    }

    @Test func aBudgetSpentAfterTheFirstTrialStopsTheSearchWithThatTrial() throws {
        let store = try PipelineFixture.store()
        var job = TuneJob(storePath: store, base: Self.base(), budget: 0.001)
        job.trials = 4
        job.firstEpochs = 1
        let outcome = try job.run { _ in }
        #expect(outcome.trials.count == 1 && outcome.trials[0].id == 0 && outcome.stoppedByBudget)
        #expect(outcome.best.temperature == Self.base().temperature && outcome.best.embeddingDimension == 8)
        // Stopped within the last rung (two configurations trained with the base's epochs at once).
        job.trials = 2
        job.firstEpochs = Self.base().epochs
        let last = try job.run { _ in }
        #expect(last.trials.count == 1 && last.stoppedByBudget)
    }

    @Test func theSameSeedTriesTheSameConfigurations() throws {
        let store = try PipelineFixture.store()
        var job = TuneJob(storePath: store, base: Self.base(), budget: 0.001)
        job.trials = 1
        #expect(throws: Never.self) { _ = try job.run { _ in } }
        var a = TuneJob(storePath: store, base: Self.base(), budget: 3_600), b = a
        a.trials = 3; b.trials = 3
        a.firstEpochs = 4; b.firstEpochs = 4
        let x = try a.run { _ in }, y = try b.run { _ in }
        #expect(x.trials.map(\.validationRecall20) == y.trials.map(\.validationRecall20))
        #expect(x.trials.map(\.embeddingDimension) == y.trials.map(\.embeddingDimension))
    }
}
