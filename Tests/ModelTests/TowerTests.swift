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

    @Test func historyExcludesTheTargetItem() {
        let inputs = ModelInputs(histories: [[1, 2, 3, 4]])
        #expect(inputs.userBatch([0], historyLength: 2).histories == [[3, 4]])
        #expect(inputs.userBatch([0], historyLength: 2, excluding: [4]).histories == [[2, 3]])
    }

    /// The whole backward pass (both towers, MLPs, tokens, numeric, hashed ids, history through
    /// the shared or own table, with or without learned weights) against finite differences of
    /// every parameter.
    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func modelGradientsMatchFiniteDifferences(sharedHistory: Bool, learnedWeights: Bool) {
        let (model, inputs) = fullModel(sharedHistory: sharedHistory, learnedWeights: learnedWeights)
        let users: [Int32] = [0, 1, 2, 3, 4, 1], items: [Int32] = [2, 3, 0, 1, 5, 4]
        let extraIDs: [Int32] = [0, 5]
        let wu = randomMatrix(6, 4, seed: 31), wi = randomMatrix(6, 4, seed: 32), we = randomMatrix(2, 4, seed: 33)
        let userBatch = inputs.userBatch(users, historyLength: 3, excluding: items)
        func loss(_ m: TwoTowerModel) -> Double {
            weightedSum(m.users(userBatch), wu) + weightedSum(m.items(inputs.itemBatch(items)), wi)
                + weightedSum(m.items(inputs.itemBatch(extraIDs)), we)
        }
        var none: SplitMix64? = nil
        let (_, userCache) = model.user.forward(userBatch, added: model.pooledHistory(userBatch), rng: &none)
        let (_, itemCache) = model.item.forward(inputs.itemBatch(items), rng: &none)
        let (_, extraCache) = model.item.forward(inputs.itemBatch(extraIDs), rng: &none)
        var optimizer = ModelOptimizer(model: model, learningRate: 0.1, weightDecay: 0, embeddingWeightDecay: 0)
        let g = optimizer.backward(model: model, userBatch: userBatch, userCache: userCache, dUsers: wu, itemCache: itemCache, dItems: wi,
                                   extraCache: extraCache, dExtra: we)
        // Dense analytic gradients in `model.parameters` order.
        func dense(_ sparse: SparseGradient?, like m: Matrix) -> [Float] {
            var out = [Float](repeating: 0, count: m.values.count)
            guard let sparse else { return out }
            for (s, id) in sparse.ids.enumerated() {
                for j in 0..<m.cols { out[Int(id) * m.cols + j] = sparse.values[s, j] }
            }
            return out
        }
        let p = model.parameters
        var analytic = [dense(g.userIDs, like: p[0]), dense(g.userTokens, like: p[1]), dense(g.itemIDs, like: p[2]), dense(g.itemTokens, like: p[3])]
        if !sharedHistory { analytic.append(dense(g.history, like: p[4])) }
        if learnedWeights { analytic.append(dense(g.historyWeights, like: p[sharedHistory ? 4 : 5])) }
        analytic += (g.userDense + g.itemDense).map(\.values)
        #expect(analytic.count == p.count)
        for k in p.indices {
            let numeric = numericGradient(p[k], { m in
                var copy = model
                var params = copy.parameters
                params[k] = m
                copy.parameters = params
                return loss(copy)
            }, h: 1e-3)
            #expect(close(analytic[k], numeric, tolerance: 5e-3), "parameter \(k)")
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
        let extra = SampledSoftmaxLoss.ExtraNegatives(embeddings: randomMatrix(2, 3, seed: 43), ids: [9, 1])
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
        let extra = SampledSoftmaxLoss.ExtraNegatives(embeddings: L2Normalize.forward(randomMatrix(3, 4, seed: 53)).y, ids: [10, 11, 1])
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
