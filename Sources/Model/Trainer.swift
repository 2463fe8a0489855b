import Foundation
import LinearAlgebra
import Randomness

/// Training settings for `Trainer`.
public struct TrainerSettings: Sendable {
    public var dimension = 64
    public var epochs = 20
    public var batchSize = 1024
    public var learningRate: Float = 0.005
    public var temperature: Float = 0.1
    public var weightDecay: Float = 0
    /// Stop after this many validations without a better score.
    public var patience = 3
    public var seed: UInt64 = 1

    public init() {}
}

/// One epoch's figures.
public struct EpochRecord: Codable, Sendable {
    public var epoch: Int
    public var loss: Double
    public var examplesPerSecond: Double
    public var seconds: Double
    /// The validation score (Recall@20), when a validator was given.
    public var validation: Double?
}

/// Trains a `TwoTowerModel` on (user, item) pairs with in-batch sampled softmax and lazy Adam.
/// Deterministic under the seed: the pair order, initialisation and batches depend on it alone.
/// Storage-free: pairs and histories come in, a validator callback scores a candidate model.
public struct Trainer {
    public let settings: TrainerSettings

    public init(settings: TrainerSettings) { self.settings = settings }

    /// - Parameters:
    ///   - pairs: training interactions as (dense user, dense item).
    ///   - histories: each user's training items, for masking in-batch negatives they have seen.
    ///   - validate: scores a model (higher is better); the best model is returned and training
    ///     stops after `patience` epochs without improvement.
    ///   - onEpoch: called after every epoch.
    public func train(pairs: [(Int32, Int32)], userCount: Int, itemCount: Int, histories: [[Int32]],
                      validate: ((TwoTowerModel) -> Double)? = nil,
                      onEpoch: ((EpochRecord) -> Void)? = nil) -> (model: TwoTowerModel, history: [EpochRecord]) {
        let s = settings
        var model = TwoTowerModel(userCount: userCount, itemCount: itemCount, dimension: s.dimension, seed: s.seed)
        var userAdam = LazyAdam(rows: userCount, dimension: s.dimension, learningRate: s.learningRate)
        var itemAdam = LazyAdam(rows: itemCount, dimension: s.dimension, learningRate: s.learningRate)
        userAdam.weightDecay = s.weightDecay
        itemAdam.weightDecay = s.weightDecay
        let loss = SampledSoftmaxLoss(temperature: s.temperature)
        var rng = SplitMix64(seed: s.seed &+ 7)
        var order = Array(0..<pairs.count)
        var best: (score: Double, model: TwoTowerModel)?
        var sinceBest = 0
        var records: [EpochRecord] = []
        for epoch in 1...max(s.epochs, 1) {
            let started = Date()
            order.shuffle(using: &rng)
            var total = 0.0, batches = 0
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + s.batchSize, order.count)]
                start += s.batchSize
                guard batch.count > 1 else { continue }
                let userIDs = batch.map { pairs[$0].0 }, itemIDs = batch.map { pairs[$0].1 }
                // Columns of the batch whose item the row's user has already interacted with.
                var columns: [Int32: [Int]] = [:]
                for (c, item) in itemIDs.enumerated() { columns[item, default: []].append(c) }
                let masks = userIDs.map { u in histories[Int(u)].flatMap { columns[$0] ?? [] } }
                let (un, unorm) = L2Normalize.forward(model.users.gather(userIDs))
                let (vn, vnorm) = L2Normalize.forward(model.items.gather(itemIDs))
                let result = loss.lossAndGradients(users: un, items: vn, itemIDs: itemIDs, maskedColumns: masks)
                let du = L2Normalize.backward(y: un, norms: unorm, gradient: result.dUsers)
                let dv = L2Normalize.backward(y: vn, norms: vnorm, gradient: result.dItems)
                userAdam.apply(SparseGradient(ids: userIDs, perExample: du), to: &model.users)
                itemAdam.apply(SparseGradient(ids: itemIDs, perExample: dv), to: &model.items)
                total += Double(result.loss)
                batches += 1
            }
            let seconds = Date().timeIntervalSince(started)
            var record = EpochRecord(epoch: epoch, loss: total / Double(max(batches, 1)),
                                     examplesPerSecond: Double(pairs.count) / max(seconds, 1e-9), seconds: seconds)
            if let validate {
                let score = validate(model)
                record.validation = score
                if score > (best?.score ?? -.infinity) {
                    best = (score, model)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                }
            }
            records.append(record)
            onEpoch?(record)
            if validate != nil && sinceBest >= s.patience { break }
        }
        return (best?.model ?? model, records)
    }
}
