import Foundation
import LinearAlgebra
import Randomness
import Testing
@testable import Model

/// A small model with every encoder: hashed user ids, tokens, numeric features, history, MLP.
func fullModel(sharedHistory: Bool, learnedWeights: Bool = false, seed: UInt64 = 21) -> (TwoTowerModel, ModelInputs) {
    let mlp = MLPSpec(hidden: [6], activation: .gelu, layerNorm: true, residual: true)
    let user = TowerSpec(count: 5, dimension: 4, idBuckets: 3, tokenRows: 7, tokenFeatures: ["job"],
                         numeric: [NumericFeature(name: "age", mean: 30, deviation: 10)], mlp: mlp)
    let item = TowerSpec(count: 6, dimension: 4, tokenRows: 7, tokenFeatures: ["genre"], mlp: MLPSpec(hidden: [5]))
    var model = TwoTowerModel(architecture: ModelArchitecture(user: user, item: item,
                                                              history: HistorySpec(length: 3, shared: sharedHistory, learnedWeights: learnedWeights)),
                              seed: seed)
    if learnedWeights {
        // Unequal logits, so the check covers a weighted mean and not only the mean it starts from.
        model.historyWeights = EmbeddingTable(weights: Matrix(rows: 6, cols: 1, values: [0.3, -0.8, 1.1, 0, -0.2, 0.6]))
    }
    var userValues: [FeatureValue] = []
    for u in 0..<5 {
        userValues.append(FeatureValue(entity: u, feature: "job", isNumeric: false, token: Int32(u % 3), value: 1))
        userValues.append(FeatureValue(entity: u, feature: "age", isNumeric: true, token: 0, value: Float(20 + 7 * u)))
    }
    var itemValues: [FeatureValue] = []
    for i in 0..<6 {
        itemValues.append(FeatureValue(entity: i, feature: "genre", isNumeric: false, token: Int32(3 + i % 4), value: 1))
        itemValues.append(FeatureValue(entity: i, feature: "genre", isNumeric: false, token: Int32(3 + (i + 1) % 4), value: 1))
    }
    let userFeatures = EntityFeatures(count: 5, values: userValues, numericFeatures: user.numeric)
    let itemFeatures = EntityFeatures(count: 6, values: itemValues, numericFeatures: [])
    let histories: [[Int32]] = [[1, 2], [0, 3, 4, 5], [], [2], [5, 1]]
    return (model, ModelInputs(userFeatures: userFeatures, itemFeatures: itemFeatures, histories: histories))
}

struct TowerTests {
    @Test func featuresPoolToAMeanPerFeatureAndNumericIsStandardised() {
        let f = EntityFeatures(count: 2, values: [
            FeatureValue(entity: 0, feature: "genre", isNumeric: false, token: 4, value: 1),
            FeatureValue(entity: 0, feature: "genre", isNumeric: false, token: 5, value: 1),
            FeatureValue(entity: 0, feature: "job", isNumeric: false, token: 9, value: 1),
            FeatureValue(entity: 1, feature: "age", isNumeric: true, token: 0, value: 50),
        ], numericFeatures: [NumericFeature(name: "age", mean: 30, deviation: 10)])
        #expect(f.tokens[0] == [TokenWeight(row: 4, weight: 0.5), TokenWeight(row: 5, weight: 0.5), TokenWeight(row: 9, weight: 1)])
        #expect(f.numeric[0, 0] == 0 && f.numeric[1, 0] == 2)
        let fitted = NumericFeature.fit(name: "x", values: [1, 3])
        #expect(fitted.mean == 2 && fitted.deviation == 1)
    }

    @Test func hashedIdsStayInTheirBuckets() {
        let tower = Tower(spec: TowerSpec(count: 1_000, dimension: 2, idBuckets: 16), seed: 1)
        let rows = (0..<1_000).map { tower.row(of: Int32($0)) }
        #expect(rows.allSatisfy { $0 >= 0 && $0 < 16 })
        #expect(Set(rows).count == 16)
        #expect(tower.row(of: -1) == -1)
    }

    /// Learned weights at zero are the plain mean; a larger logit pulls the pool towards its
    /// item; a spec saved before weights existed decodes as the mean.
    @Test func learnedHistoryWeightsStartAsTheMeanAndShiftThePool() throws {
        let table = EmbeddingTable(weights: Matrix([[1, 0], [0, 1], [1, 1]]))
        let rows: (Int32) -> Int32 = { $0 }
        let zero = EmbeddingTable(weights: Matrix(rows: 3, cols: 1))
        let histories: [[Int32]] = [[0, 1], [0, 1, 2]]
        #expect(HistoryEncoder.forward(histories, table: table, rows: rows, weights: zero) == HistoryEncoder.forward(histories, table: table, rows: rows))
        let favour0 = EmbeddingTable(weights: Matrix(rows: 3, cols: 1, values: [logf(3), 0, 0]))
        let pooled = HistoryEncoder.forward([[0, 1]], table: table, rows: rows, weights: favour0)
        #expect(abs(pooled[0, 0] - 0.75) < 1e-6 && abs(pooled[0, 1] - 0.25) < 1e-6)
        // An item the weight table does not know (added after training) takes the starting logit 0.
        let short = EmbeddingTable(weights: Matrix(rows: 2, cols: 1, values: [logf(2), 0]))
        let withNew = HistoryEncoder.forward([[0, 2]], table: table, rows: rows, weights: short)
        #expect(abs(withNew[0, 0] - 1) < 1e-6 && abs(withNew[0, 1] - 1.0 / 3) < 1e-6)
        let old = try JSONDecoder().decode(HistorySpec.self, from: Data(#"{"length":5,"shared":true}"#.utf8))
        #expect(old == HistorySpec(length: 5, shared: true) && !old.hasLearnedWeights)
    }

    @Test func aStepPoolsEachUsersWindowWithoutTheRowsTarget() {
        // User 0's window (last 3 of [1, 2, 3, 4]) is [2, 3, 4]; the row of target 4 pools [2, 3],
        // the row of target 1 (older than the window) pools all of [2, 3, 4].
        let inputs = ModelInputs(histories: [[1, 2, 3, 4]])
        let batch = StepBatch(capacity: 2, extras: 0, users: 1, items: 5)
        let pairs: [(Int32, Int32)] = [(0, 4), (0, 1)]
        pairs.withUnsafeBufferPointer { p in
            [Int32]().withUnsafeBufferPointer { batch.assemble(pairs: p, order: [0, 1][...], extraIDs: $0, histories: inputs.histories, historyLength: 3) }
        }
        #expect(batch.distinct == 1 && batch.windowStart[0] == 1 && batch.windowLength[0] == 3)
        #expect(batch.targetCount[0] == 1 && batch.targetCount[1] == 0)
        // Both rows mask the other's item (user 0 has both); neither masks its own column.
        var scores: [Float] = [1, 1]
        scores.withUnsafeMutableBufferPointer { batch.mask(row: 0, scores: $0.baseAddress!) }
        #expect(scores == [1, -.infinity])
    }

    @Test func theHistoryWalkSplitAcrossThreadsMasksWhatOneThreadMasks() {
        // 300 users with random histories over 50 items, a 256-row batch with 32 extras: the
        // walk is split by slots when there are at least 64 distinct users.
        var rng = SplitMix64(seed: 5)
        let histories: [[Int32]] = (0..<300).map { _ in (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int32.random(in: 0..<50, using: &rng) } }
        let pairs: [(Int32, Int32)] = (0..<256).map { _ in (Int32.random(in: 0..<300, using: &rng), Int32.random(in: 0..<50, using: &rng)) }
        let extras: [Int32] = (0..<32).map { _ in Int32.random(in: 0..<50, using: &rng) }
        func masked(parts: Int) -> (distinct: Int, windows: [Int32], counts: [Int32], scores: [[Float]]) {
            let batch = StepBatch(capacity: 256, extras: 32, users: 300, items: 50, parts: parts)
            pairs.withUnsafeBufferPointer { p in
                extras.withUnsafeBufferPointer { batch.assemble(pairs: p, order: Array(0..<256)[...], extraIDs: $0, histories: histories, historyLength: 10) }
            }
            let scores: [[Float]] = (0..<256).map { r in
                var row = [Float](repeating: 0, count: 288)
                row.withUnsafeMutableBufferPointer { batch.mask(row: r, scores: $0.baseAddress!) }
                return row
            }
            return (batch.distinct, (0..<batch.distinct).flatMap { [batch.windowStart[$0], batch.windowLength[$0]] },
                    (0..<256).map { batch.targetCount[$0] }, scores)
        }
        let one = masked(parts: 1), three = masked(parts: 3)
        #expect(one.distinct >= 64)
        #expect(one.distinct == three.distinct && one.windows == three.windows && one.counts == three.counts)
        #expect(one.scores == three.scores)
        #expect(one.scores.joined().contains(-.infinity))
    }

    /// The training step's whole backward pass (both towers, MLPs, tokens, numeric, hashed ids,
    /// history through the shared or own table, with or without learned weights, extra negatives,
    /// logQ, masks), on 1 and 3 threads, against finite differences of the loss it minimises,
    /// computed the plain way: inference embeddings and the matrix form of the loss.
    @Test(arguments: [(true, false, 1), (false, false, 3), (true, true, 3), (false, true, 1), (true, false, 3)])
    func stepGradientsMatchFiniteDifferences(sharedHistory: Bool, learnedWeights: Bool, threads: Int) {
        let (model, inputs) = fullModel(sharedHistory: sharedHistory, learnedWeights: learnedWeights)
        let users: [Int32] = [0, 1, 2, 3, 4, 1], items: [Int32] = [2, 3, 0, 1, 5, 4]
        let extraIDs: [Int32] = [0, 5]
        let logQ: [Float] = [0.1, -0.2, 0.3, 0, 0.2, -0.1, 0.4, -0.3]
        let temperature: Float = 0.5
        // The reference: each row's history is its user's window (last 3) without the row's target.
        let windows = zip(users, items).map { u, t in inputs.histories[Int(u)].suffix(3).filter { $0 != t } }
        let features = inputs.userFeatures!.rows(users)
        let userBatch = TowerBatch(ids: users, tokens: features.tokens, numeric: features.numeric, histories: windows)
        let masks = users.map { u in (items + extraIDs).enumerated().filter { inputs.histories[Int(u)].contains($0.element) }.map(\.offset) }
        func loss(_ m: TwoTowerModel) -> Double {
            let u = m.users(userBatch), v = m.items(inputs.itemBatch(items)), e = m.items(inputs.itemBatch(extraIDs))
            return Double(SampledSoftmaxLoss(temperature: temperature)
                .lossAndGradients(users: u, items: v, itemIDs: items, extra: ExtraNegatives(embeddings: e, ids: extraIDs), logQ: logQ,
                                  maskedColumns: masks).loss)
        }
        var settings = TrainerSettings()
        settings.dimension = 4
        settings.batchSize = 6
        settings.extraNegatives = 2
        settings.temperature = temperature
        settings.threads = threads
        let engine = TrainingEngine(model: model, settings: settings, inputs: inputs)
        for (k, id) in extraIDs.enumerated() { engine.extraIDs[k] = id }
        let pairs = Array(zip(users, items))
        pairs.withUnsafeBufferPointer { engine.assemble(pairs: $0, order: Array(0..<6)[...]) }
        for (c, q) in logQ.enumerated() { engine.logQ[c] = q }
        let gradients = engine.computeGradients(useLogQ: true)
        #expect(abs(gradients.result.loss - loss(model)) < 1e-5, "the step's loss is the loss")
        let analytic = engine.denseGradients(gradients)
        let p = model.parameters
        #expect(analytic.count == p.count)
        for k in p.indices {
            let numeric = numericGradient(p[k], { m in
                var copy = model
                var params = copy.parameters
                params[k] = m
                copy.parameters = params
                return loss(copy)
            }, h: 1e-3)
            #expect(close(analytic[k].values, numeric, tolerance: 5e-3), "parameter \(k)")
        }
    }

    @Test(arguments: [false, true])
    func aFullCheckpointRoundTripGivesIdenticalEmbeddings(learnedWeights: Bool) throws {
        let dir = NSTemporaryDirectory() + "ckpt-full-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, inputs) = fullModel(sharedHistory: false, learnedWeights: learnedWeights)
        let info = CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: 5, itemCount: 6, dimension: 4,
                                  config: "{}", store: "s", split: "x", validation: nil, epochs: 1)
        try Checkpoint.save(model, info: info, to: dir)
        let (loaded, loadedInfo) = try Checkpoint.load(from: dir)
        #expect(loadedInfo.architecture == model.architecture)
        #expect(loaded.userEmbeddings(inputs) == model.userEmbeddings(inputs))
        #expect(loaded.itemEmbeddings(inputs) == model.itemEmbeddings(inputs))

        // The fingerprint is of the bytes loaded: equal for the same file, different after one
        // weight changes, and flipping its first or its last byte changes it.
        let (_, _, version) = try Checkpoint.loadFingerprinted(from: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Checkpoint.file(in: dir)))
        #expect(version.count == 16 && version == Checkpoint.fingerprint(of: bytes.prefix(bytes.count - 8)))
        var changed = model
        var params = changed.parameters
        params[0].values[0] += 1
        changed.parameters = params
        try Checkpoint.save(changed, info: info, to: dir)
        #expect(try Checkpoint.loadFingerprinted(from: dir).fingerprint != version)
        for position in [0, bytes.count - 1] {
            var flipped = bytes
            flipped[position] ^= 1
            #expect(Checkpoint.fingerprint(of: flipped) != version)
        }
    }

    @Test func streamingFrequencyConvergesToTheTrueRate() {
        var estimator = StreamingFrequencyEstimator(buckets: 10, alpha: 0.05)
        var last: [Double] = []
        for step in 1...2_000 {
            // Item 1 appears every step, item 2 every 4th step, item 3 every 10th.
            var items: [Int32] = [1]
            if step % 4 == 0 { items.append(2) }
            if step % 10 == 0 { items.append(3) }
            last = estimator.observe(items, step: step)
        }
        #expect(abs(last[0] - 1) < 1e-6)
        #expect(abs(last[1] - 0.25) < 0.01)
        #expect(abs(last[2] - 0.1) < 0.005)
    }

    @Test func bprGradientsMatchFiniteDifferencesAndAHandComputedCase() {
        let u = randomMatrix(5, 3, seed: 41), v = randomMatrix(5, 3, seed: 42)
        let extra = ExtraNegatives(embeddings: randomMatrix(2, 3, seed: 43), ids: [9, 1])
        let ids: [Int32] = [0, 1, 2, 1, 4]
        let masks: [[Int]] = [[4], [], [], [], []]
        let bpr = BPRLoss(temperature: 0.5)
        let r = bpr.lossAndGradients(users: u, items: v, itemIDs: ids, extra: extra, maskedColumns: masks)
        #expect(close(r.dUsers.values, numericGradient(u, { Double(bpr.lossAndGradients(users: $0, items: v, itemIDs: ids, extra: extra, maskedColumns: masks).loss) }, h: 1e-3), tolerance: 3e-3))
        #expect(close(r.dItems.values, numericGradient(v, { Double(bpr.lossAndGradients(users: u, items: $0, itemIDs: ids, extra: extra, maskedColumns: masks).loss) }, h: 1e-3), tolerance: 3e-3))
        let e = numericGradient(extra.embeddings, { m in
            Double(bpr.lossAndGradients(users: u, items: v, itemIDs: ids, extra: .init(embeddings: m, ids: extra.ids), maskedColumns: masks).loss)
        }, h: 1e-3)
        #expect(close(r.dExtra.values, e, tolerance: 3e-3))
        // Two orthogonal unit users and items, τ = 1: each row has one negative at margin −1.
        let tiny = BPRLoss(temperature: 1).lossAndGradients(users: Matrix([[1, 0], [0, 1]]), items: Matrix([[1, 0], [0, 1]]), itemIDs: [1, 2], extra: nil)
        #expect(abs(Double(tiny.loss) - log(1 + exp(-1.0))) < 1e-6)
    }
}

struct TemperatureTests {
    @Test func theInverseTemperatureGradientMatchesFiniteDifferences() {
        let u = L2Normalize.forward(randomMatrix(6, 4, seed: 51)).y, v = L2Normalize.forward(randomMatrix(6, 4, seed: 52)).y
        let extra = ExtraNegatives(embeddings: L2Normalize.forward(randomMatrix(3, 4, seed: 53)).y, ids: [10, 11, 1])
        let ids: [Int32] = [0, 1, 2, 3, 4, 1]
        let logQ: [Float] = (0..<9).map { -Float($0) / 10 }
        func loss(_ inverse: Double) -> Double {
            Double(SampledSoftmaxLoss(temperature: Float(1 / inverse))
                .lossAndGradients(users: u, items: v, itemIDs: ids, extra: extra, logQ: logQ, maskedColumns: [[7], [], [], [], [], []]).loss)
        }
        let analytic = SampledSoftmaxLoss(temperature: 0.25)
            .lossAndGradients(users: u, items: v, itemIDs: ids, extra: extra, logQ: logQ, maskedColumns: [[7], [], [], [], [], []]).dInverseTemperature
        let numeric = (loss(4 + 1e-3) - loss(4 - 1e-3)) / 2e-3
        #expect(abs(Double(analytic) - numeric) < 1e-3 * max(1, abs(numeric)))
    }

    @Test func aLearnedTemperatureMovesAndIsReported() throws {
        let d = plantedData(seed: 6)
        var s = TrainerSettings()
        s.dimension = 16
        s.epochs = 4
        s.batchSize = 64
        s.learningRate = 0.02
        s.temperature = 0.5
        s.learnTemperature = true
        var seen: [Double] = []
        _ = try Trainer(settings: s).train(pairs: d.pairs, architecture: .idOnly(users: 200, items: 100, dimension: 16),
                                           inputs: ModelInputs(histories: d.histories), onEpoch: { r, _, _ in seen.append(r.temperature ?? -1) })
        #expect(seen.count == 4 && seen.allSatisfy { $0 >= 0.01 && $0 <= 1 })
        // From τ = 0.5 on easy planted groups, sharpening the softmax lowers the loss: τ falls.
        #expect(seen.last! < 0.45)
    }
}
