import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    /// Extra negatives drawn per batch and shared by all its rows (0 for in-batch only).
    public var extraNegatives = 0
    public var negativeDistribution = NegativeSampler.Distribution.uniform
    /// Subtract log q (each candidate's sampling probability) from the logits.
    public var logQCorrection = false
    /// Learning-rate warm-up, then decay over the remaining steps.
    public var warmupSteps = 0
    public var schedule = LearningRateSchedule.constant
    /// Scale gradients down when their global L2 norm exceeds this (0 for no clipping).
    public var clipNorm: Float = 0
    /// The training objective.
    public var objective = Objective.sampledSoftmax
    public var seed: UInt64 = 1

    public init() {}
}

/// Which loss the trainer minimises.
public enum Objective: Sendable, Equatable {
    /// `SampledSoftmaxLoss` with the settings' temperature (and logQ when enabled).
    case sampledSoftmax
    /// SimpleX's `CosineContrastiveLoss`.
    case cosineContrastive(margin: Float, negativeWeight: Float)
}

/// How the learning rate moves after warm-up.
public enum LearningRateSchedule: String, Sendable, Codable {
    case constant, cosine, linear

    /// The factor at `step` (from 1) of `total`, after `warmup` linear warm-up steps.
    public func factor(step: Int, total: Int, warmup: Int) -> Float {
        if warmup > 0 && step <= warmup { return Float(step) / Float(warmup) }
        let progress = total > warmup ? min(1, Float(step - warmup) / Float(total - warmup)) : 1
        switch self {
        case .constant: return 1
        case .cosine: return 0.5 * (1 + cosf(Float.pi * progress))
        case .linear: return 1 - progress
        }
    }
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
        var counts = [Int](repeating: 0, count: itemCount)
        for (_, i) in pairs { counts[Int(i)] += 1 }
        let sampler = NegativeSampler(distribution: s.negativeDistribution, counts: counts)
        // log q per item as an in-batch candidate: expected appearances in a batch of B.
        let inBatchLogQ = counts.map { Float(log(Double(max($0, 1)) * Double(s.batchSize) / Double(pairs.count))) }
        let extraLogQ = sampler.probabilities.map { Float(log($0 * Double(max(s.extraNegatives, 1)))) }
        let totalSteps = s.epochs * ((pairs.count + s.batchSize - 1) / s.batchSize)
        var step = 0
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
                // Candidate columns by item, to mask those the row's user has already interacted with.
                var columns: [Int32: [Int]] = [:]
                for (c, item) in itemIDs.enumerated() { columns[item, default: []].append(c) }
                let (un, unorm) = L2Normalize.forward(model.users.gather(userIDs))
                let (vn, vnorm) = L2Normalize.forward(model.items.gather(itemIDs))
                var extra: SampledSoftmaxLoss.ExtraNegatives?
                var extraNorms: [Float] = []
                if s.extraNegatives > 0 {
                    let ids = sampler.sample(s.extraNegatives, using: &rng)
                    let (en, norms) = L2Normalize.forward(model.items.gather(ids))
                    extra = .init(embeddings: en, ids: ids)
                    extraNorms = norms
                    for (k, id) in ids.enumerated() { columns[id, default: []].append(itemIDs.count + k) }
                }
                let masks = userIDs.map { u in histories[Int(u)].flatMap { columns[$0] ?? [] } }
                let logQ: [Float]? = s.logQCorrection
                    ? itemIDs.map { inBatchLogQ[Int($0)] } + (extra?.ids.map { extraLogQ[Int($0)] } ?? []) : nil
                let result = switch s.objective {
                case .sampledSoftmax:
                    loss.lossAndGradients(users: un, items: vn, itemIDs: itemIDs, extra: extra, logQ: logQ, maskedColumns: masks)
                case let .cosineContrastive(margin, weight):
                    CosineContrastiveLoss(margin: margin, negativeWeight: weight)
                        .lossAndGradients(users: un, items: vn, itemIDs: itemIDs, extra: extra, maskedColumns: masks)
                }
                var du = L2Normalize.backward(y: un, norms: unorm, gradient: result.dUsers)
                var dv = L2Normalize.backward(y: vn, norms: vnorm, gradient: result.dItems)
                var de = extra.map { L2Normalize.backward(y: $0.embeddings, norms: extraNorms, gradient: result.dExtra) }
                if s.clipNorm > 0 {
                    let squares = [du, dv, de ?? Matrix(rows: 0, cols: 0)].reduce(Float(0)) { $0 + $1.values.reduce(0) { $0 + $1 * $1 } }
                    let norm = squares.squareRoot()
                    if norm > s.clipNorm {
                        let scale = s.clipNorm / norm
                        for i in du.values.indices { du.values[i] *= scale }
                        for i in dv.values.indices { dv.values[i] *= scale }
                        if de != nil { for i in de!.values.indices { de!.values[i] *= scale } }
                    }
                }
                step += 1
                let rate = s.learningRate * s.schedule.factor(step: step, total: totalSteps, warmup: s.warmupSteps)
                userAdam.learningRate = rate
                itemAdam.learningRate = rate
                userAdam.apply(SparseGradient(ids: userIDs, perExample: du), to: &model.users)
                if let extra, let de {
                    itemAdam.apply(SparseGradient(ids: itemIDs + extra.ids, perExample: Matrix(rows: dv.rows + de.rows, cols: dv.cols, values: dv.values + de.values)),
                                   to: &model.items)
                } else {
                    itemAdam.apply(SparseGradient(ids: itemIDs, perExample: dv), to: &model.items)
                }
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
