import Evaluation
import Foundation
import LinearAlgebra
import Randomness
import Testing
@testable import Model

/// A tiny planted data set: 200 users and 100 items in 5 groups; each user interacts with items
/// of its own group. Returns training pairs, per-user histories and one held-out item per user.
func plantedData(seed: UInt64) -> (pairs: [(Int32, Int32)], histories: [[Int32]], heldOut: [[Int32]]) {
    var rng = SplitMix64(seed: seed)
    var pairs: [(Int32, Int32)] = [], histories = [[Int32]](repeating: [], count: 200), heldOut = [[Int32]](repeating: [], count: 200)
    for u in 0..<200 {
        let group = u % 5
        var items = Set<Int32>()
        while items.count < 9 { items.insert(Int32(group * 20 + Int(rng.next() % 20))) }
        let ordered = items.sorted()
        heldOut[u] = [ordered[0]]
        for i in ordered.dropFirst() { pairs.append((Int32(u), i)); histories[u].append(i) }
    }
    return (pairs, histories, heldOut)
}

struct TrainerTests {
    func settings() -> TrainerSettings {
        var s = TrainerSettings()
        s.dimension = 16
        s.epochs = 15
        s.batchSize = 64
        s.learningRate = 0.02
        s.temperature = 0.2
        s.seed = 3
        return s
    }

    @Test func aTinyPlantedRunClearlyBeatsPopularity() {
        let d = plantedData(seed: 1)
        let (model, history) = Trainer(settings: settings()).train(pairs: d.pairs, userCount: 200, itemCount: 100, histories: d.histories)
        #expect(history.count == 15)
        #expect(history.last!.loss < history.first!.loss)
        let data = EvaluationData(userCount: 200, itemCount: 100, masked: d.histories, heldOut: d.heldOut)
        let ours = FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(), items: model.itemEmbeddings()), data: data, ks: [10])
        let popular = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: [10])
        #expect(ours["recall@10"]! > 2 * popular["recall@10"]!, "ours \(ours["recall@10"]!) vs popularity \(popular["recall@10"]!)")
        #expect(ours["recall@10"]! > 0.5)
    }

    @Test func trainingIsDeterministicUnderItsSeed() {
        let d = plantedData(seed: 2)
        var s = settings()
        s.epochs = 2
        let a = Trainer(settings: s).train(pairs: d.pairs, userCount: 200, itemCount: 100, histories: d.histories).model
        let b = Trainer(settings: s).train(pairs: d.pairs, userCount: 200, itemCount: 100, histories: d.histories).model
        #expect(a.user.ids.weights == b.user.ids.weights && a.item.ids.weights == b.item.ids.weights)
    }

    /// The shipped architecture's ingredients (a history encoder, popularity extras, logQ, every
    /// training item masked) on two threads: two runs give byte-identical checkpoints, and one
    /// thread gives a checkpoint too (the partition is part of the result, so it differs).
    @Test func twoRunsOnTwoThreadsGiveByteIdenticalCheckpoints() throws {
        let d = plantedData(seed: 8)
        var s = settings()
        s.epochs = 2
        s.threads = 2
        s.extraNegatives = 32
        s.negativeDistribution = .popularity
        s.logQCorrection = true
        let user = TowerSpec(count: 200, dimension: 16, idBuckets: 1), item = TowerSpec(count: 100, dimension: 16)
        let architecture = ModelArchitecture(user: user, item: item, history: HistorySpec(length: 5, shared: true))
        let info = CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: 200, itemCount: 100, dimension: 16,
                                  config: "{}", store: "s", split: "x", validation: nil, epochs: 2)
        func bytes(_ settings: TrainerSettings) throws -> Data {
            let model = try Trainer(settings: settings).train(pairs: d.pairs, architecture: architecture, inputs: ModelInputs(histories: d.histories)).model
            let dir = NSTemporaryDirectory() + "determinism-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Checkpoint.save(model, info: info, to: dir)
            return try Data(contentsOf: URL(fileURLWithPath: Checkpoint.file(in: dir)))
        }
        let first = try bytes(s), second = try bytes(s)
        #expect(first == second, "same seed, same threads: the same bytes")
        var one = s
        one.threads = 1
        #expect(try bytes(one).count == first.count)
    }

    @Test func earlyStoppingKeepsTheBestModel() {
        let d = plantedData(seed: 4)
        var s = settings()
        s.epochs = 10
        s.patience = 2
        var calls = 0
        let scores: [Double] = [0.1, 0.5, 0.4, 0.3, 0.9]   // best at epoch 2, then two worse: stop at 4
        var snapshots: [Matrix] = []
        let (model, history) = Trainer(settings: s).train(pairs: d.pairs, userCount: 200, itemCount: 100, histories: d.histories,
                                                          validate: { m in calls += 1; snapshots.append(m.item.ids.weights); return scores[calls - 1] })
        #expect(history.count == 4)
        #expect(model.item.ids.weights == snapshots[1])
    }

    @Test func aCheckpointRoundTripGivesIdenticalEmbeddings() throws {
        let dir = NSTemporaryDirectory() + "ckpt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = TwoTowerModel(userCount: 7, itemCount: 5, dimension: 3, seed: 9)
        let info = CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: 7, itemCount: 5, dimension: 3,
                                  config: "{}", store: "s", split: "x", validation: 0.5, epochs: 2)
        try Checkpoint.save(model, info: info, to: dir)
        let (loaded, loadedInfo) = try Checkpoint.load(from: dir)
        var expected = info
        expected.architecture = model.architecture  // saving records the architecture
        #expect(loadedInfo == expected)
        #expect(loaded.userEmbeddings() == model.userEmbeddings() && loaded.itemEmbeddings() == model.itemEmbeddings())
        #expect(!FileManager.default.fileExists(atPath: Checkpoint.file(in: dir) + ".partial"))
        // A truncated checkpoint is refused, not half-loaded.
        let data = try Data(contentsOf: URL(fileURLWithPath: Checkpoint.file(in: dir)))
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: Checkpoint.file(in: dir)))
        #expect(throws: CheckpointError.self) { _ = try Checkpoint.load(from: dir) }
    }
}

struct TrainingFailureTests {
    @Test func aNonFiniteLossStopsTrainingNamingTheEpochAndStep() {
        let d = plantedData(seed: 4)
        var s = TrainerSettings()
        s.dimension = 8
        s.batchSize = 32
        s.epochs = 3
        s.learningRate = 1e30  // the MLP's weights overflow within a few steps
        let mlp = MLPSpec(hidden: [8], activation: .relu, residual: false)
        let a = ModelArchitecture(user: TowerSpec(count: 200, dimension: 8, mlp: mlp), item: TowerSpec(count: 100, dimension: 8, mlp: mlp))
        #expect {
            _ = try Trainer(settings: s).train(pairs: d.pairs, architecture: a, inputs: ModelInputs(histories: d.histories))
        } throws: { error in
            guard let e = error as? TrainingError else { return false }
            return e.epoch >= 1 && e.step >= 1 && !e.loss.isFinite && "\(e)".contains("epoch \(e.epoch), step \(e.step)")
        }
    }

    @Test(arguments: [false, true])
    func aHistoryAndMLPModelLearnsThePlantedGroups(learnedWeights: Bool) {
        let d = plantedData(seed: 5)
        var s = TrainerSettings()
        s.dimension = 16
        s.epochs = 15
        s.batchSize = 64
        s.learningRate = 0.01
        s.temperature = 0.2
        s.seed = 3
        let a = ModelArchitecture(user: TowerSpec(count: 200, dimension: 16, mlp: MLPSpec(hidden: [32], layerNorm: true)),
                                  item: TowerSpec(count: 100, dimension: 16),
                                  history: HistorySpec(length: 5, shared: true, learnedWeights: learnedWeights))
        let inputs = ModelInputs(histories: d.histories)
        let (model, _) = try! Trainer(settings: s).train(pairs: d.pairs, architecture: a, inputs: inputs)
        // The learned weights are trained (they start at zero).
        #expect((model.historyWeights?.weights.values.contains { $0 != 0 } ?? false) == learnedWeights)
        let data = EvaluationData(userCount: 200, itemCount: 100, masked: d.histories, heldOut: d.heldOut)
        let ours = FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(inputs), items: model.itemEmbeddings(inputs)),
                                                 data: data, ks: [10])
        let popularity = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: [10])
        // 12 of the group's 20 items are left after masking 8, so ranking the group first gives ~10/12;
        // popularity, blind to groups, gets ~0.1.
        #expect(ours["recall@10"]! > 0.5)
        #expect(ours["recall@10"]! > 3 * popularity["recall@10"]!)
    }
}
