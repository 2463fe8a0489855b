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
    /// Decoupled weight decay on dense (numeric and MLP) weights.
    public var weightDecay: Float = 0
    /// Decoupled weight decay on the embedding rows a batch touches (off unless asked).
    public var embeddingWeightDecay: Float = 0
    /// logQ from Yi et al.'s streaming frequency estimate instead of whole-data counts.
    public var streamingFrequency = false
    /// Learn the softmax temperature (on log τ, from `temperature`) instead of fixing it.
    public var learnTemperature = false
    /// Stop after this many validations without a better score.
    public var patience = 3
    /// Extra negatives drawn per batch and shared by all its rows (0 for in-batch only).
    public var extraNegatives = 0
    public var negativeDistribution = NegativeSampler.Distribution.uniform
    /// Subtract log q (each candidate's sampling probability) from the logits.
    public var logQCorrection = false
    /// Scales the correction: `weight · log q` (1 is Yi et al.'s full correction).
    public var logQWeight: Float = 1
    /// Learning-rate warm-up, then decay over the remaining steps.
    public var warmupSteps = 0
    public var schedule = LearningRateSchedule.constant
    /// Scale gradients down when their global L2 norm exceeds this (0 for no clipping).
    public var clipNorm: Float = 0
    /// The training objective.
    public var objective = Objective.sampledSoftmax
    /// Stop after this epoch while the learning-rate schedule still spans `epochs` (a refit for
    /// the epoch count early stopping chose); nil runs to `epochs` or early stopping.
    public var stopAfterEpoch: Int?
    /// Worker threads for a step (the batch's rows are split among them).
    public var threads = 2
    public var seed: UInt64 = 1

    public init() {}
}

/// The losses a configuration can name (`loss` in `Config/train.json`).
public enum LossName: String, Sendable, Codable, CaseIterable {
    /// Sampled softmax (InfoNCE) over the batch's candidates.
    case softmax
    /// SimpleX's cosine contrastive loss.
    case ccl
    /// Bayesian personalised ranking over the same candidates.
    case bpr
}

/// Which loss the trainer minimises.
public enum Objective: Sendable, Equatable {
    /// `SampledSoftmaxLoss` with the settings' temperature (and logQ when enabled).
    case sampledSoftmax
    /// SimpleX's `CosineContrastiveLoss`.
    case cosineContrastive(margin: Float, negativeWeight: Float)
    /// Bayesian personalised ranking over the same candidates (`BPRLoss`).
    case bpr
}

/// How the learning rate moves after warm-up.
public enum LearningRateSchedule: String, Sendable, Codable, CaseIterable {
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
    /// Wall time of that validation (embedding every user and item, full ranking).
    public var validationSeconds: Double?
    /// Over the epoch's training time: the score and gradient products' rate (GFLOP/s), and the
    /// history encoder's traffic (GB/s: window rows gathered, then their gradients summed).
    public var gemmGFLOPs: Double?
    public var historyGBPerSecond: Double?
    /// The temperature at the end of the epoch, when it is learned.
    public var temperature: Double?
    /// The process's CPU time over the epoch's training (validation excluded) as a percentage of
    /// its wall time: 200 is two cores busy throughout.
    public var cpuPercent: Double?

    // Spelled so that snake-case coding gives `gemm_gflops` and `history_gb_per_second`.
    enum CodingKeys: String, CodingKey {
        case epoch, loss, examplesPerSecond, seconds, validation, validationSeconds, temperature, cpuPercent
        case gemmGFLOPs = "gemmGflops"
        case historyGBPerSecond = "historyGbPerSecond"
    }
}

/// Training stopped because the loss stopped being a number.
public struct TrainingError: Error, CustomStringConvertible {
    public var epoch: Int
    public var step: Int
    public var loss: Float

    public var description: String {
        "the loss became \(loss) at epoch \(epoch), step \(step); stopping (the last good checkpoint is kept). "
            + "Lower learning_rate, raise temperature or set clip_norm."
    }
}

/// Trains a `TwoTowerModel` on (user, item) pairs with a retrieval loss over in-batch and extra
/// negatives and Adam (lazy for embedding tables, dense for the numeric and MLP layers), every
/// step on `threads` cores (`TrainingEngine`). Deterministic under the seed and the thread count:
/// the pair order, initialisation, negatives and every reduction depend on them alone.
/// Storage-free: pairs, features and histories come in, a validator callback scores a model.
public struct Trainer {
    public let settings: TrainerSettings

    public init(settings: TrainerSettings) { self.settings = settings }

    /// ID embeddings only (the architecture of the PyTorch peer).
    public func train(pairs: [(Int32, Int32)], userCount: Int, itemCount: Int, histories: [[Int32]],
                      validate: ((TwoTowerModel) -> Double)? = nil,
                      onEpoch: ((EpochRecord) -> Void)? = nil) -> (model: TwoTowerModel, history: [EpochRecord]) {
        let architecture = ModelArchitecture.idOnly(users: userCount, items: itemCount, dimension: settings.dimension)
        // An ID-only model's loss cannot leave the finite range with positive τ; a failure here is a bug.
        return try! train(pairs: pairs, architecture: architecture, inputs: ModelInputs(histories: histories),
                          validate: validate, onEpoch: { record, _, _ in onEpoch?(record) })
    }

    /// - Parameters:
    ///   - pairs: training interactions as (dense user, dense item).
    ///   - inputs: side features, and each user's training items oldest first (for the history
    ///     encoder and for masking negatives the user has interacted with).
    ///   - validate: scores a model (higher is better); the best model is returned and training
    ///     stops after `patience` epochs without improvement.
    ///   - onEpoch: called after every epoch with the model and whether it is the best so far.
    ///   - initial: the model to start from (a warm start) instead of a fresh initialisation; its
    ///     architecture must be `architecture`.
    /// - Throws: `TrainingError` when the loss is NaN or infinite.
    public func train(pairs: [(Int32, Int32)], architecture: ModelArchitecture, inputs: ModelInputs,
                      validate: ((TwoTowerModel) -> Double)? = nil,
                      onEpoch: ((EpochRecord, TwoTowerModel, Bool) -> Void)? = nil,
                      initial: TwoTowerModel? = nil) throws -> (model: TwoTowerModel, history: [EpochRecord]) {
        let s = settings
        precondition(initial == nil || initial!.architecture == architecture, "a warm start needs the same architecture")
        let itemCount = architecture.item.count
        let engine = TrainingEngine(model: initial ?? TwoTowerModel(architecture: architecture, seed: s.seed), settings: s, inputs: inputs)
        var temperatureAdam = DenseAdam(shapes: [Matrix(rows: 1, cols: 1)], learningRate: s.learningRate)
        var rng = SplitMix64(seed: s.seed &+ 7)
        var counts = [Int](repeating: 0, count: itemCount)
        for (_, i) in pairs { counts[Int(i)] += 1 }
        let sampler = NegativeSampler(distribution: s.negativeDistribution, counts: counts)
        var correction = LogQCorrection(counts: counts, examples: pairs.count, batchSize: s.batchSize, extra: sampler,
                                        extraCount: s.extraNegatives, streaming: s.streamingFrequency, weight: s.logQWeight)
        let batchesPerEpoch = (pairs.count + s.batchSize - 1) / s.batchSize
        let totalSteps = s.epochs * batchesPerEpoch
        var step = 0
        var order = Array(0..<pairs.count)
        var best: (score: Double, model: TwoTowerModel)?
        var sinceBest = 0
        var records: [EpochRecord] = []
        let useLogQ = s.logQCorrection
        for epoch in 1...max(s.epochs, 1) {
            let started = Date()
            let cpuStarted = processCPUSeconds()
            order.shuffle(using: &rng)
            var total = 0.0, batches = 0
            var start = 0
            try pairs.withUnsafeBufferPointer { pairBuffer in
                while start < order.count {
                    let batch = order[start..<min(start + s.batchSize, order.count)]
                    start += s.batchSize
                    guard batch.count > 1 else { continue }
                    step += 1
                    if s.extraNegatives > 0 {
                        sampler.sample(into: UnsafeMutableBufferPointer(start: engine.extraIDs.pointer, count: s.extraNegatives), using: &rng)
                    }
                    engine.assemble(pairs: pairBuffer, order: batch)
                    if useLogQ {
                        correction.fill(columns: UnsafeBufferPointer(start: engine.batch.candidates.pointer, count: engine.batch.columns),
                                        positives: engine.batch.rows, into: engine.logQ.pointer, step: step)
                    }
                    let learningRate = s.learningRate * s.schedule.factor(step: step, total: totalSteps, warmup: s.warmupSteps)
                    let result = engine.step(useLogQ: useLogQ, learningRate: learningRate)
                    guard result.loss.isFinite else { throw TrainingError(epoch: epoch, step: step, loss: Float(result.loss)) }
                    if s.learnTemperature, case .sampledSoftmax = s.objective {
                        // Learned on log τ (so it stays positive), clamped to a sane range.
                        let t = engine.temperature
                        var logT = [Matrix(rows: 1, cols: 1, values: [logf(t)])]
                        temperatureAdam.learningRate = learningRate
                        temperatureAdam.apply([Matrix(rows: 1, cols: 1, values: [-Float(result.dInverseTemperature) / t])], to: &logT)
                        engine.temperature = min(max(expf(logT[0].values[0]), 0.01), 1)
                    }
                    total += result.loss
                    batches += 1
                }
            }
            let seconds = Date().timeIntervalSince(started)
            var record = EpochRecord(epoch: epoch, loss: total / Double(max(batches, 1)),
                                     examplesPerSecond: Double(pairs.count) / max(seconds, 1e-9), seconds: seconds)
            let counters = engine.takeCounters()
            record.gemmGFLOPs = counters.flops / max(seconds, 1e-9) / 1e9
            record.cpuPercent = 100 * (processCPUSeconds() - cpuStarted) / max(seconds, 1e-9)
            if counters.historyBytes > 0 { record.historyGBPerSecond = counters.historyBytes / max(seconds, 1e-9) / 1e9 }
            if s.learnTemperature { record.temperature = Double(engine.temperature) }
            let model = engine.model
            var improved = validate == nil
            if let validate {
                let validationStarted = Date()
                let score = validate(model)
                record.validation = score
                record.validationSeconds = Date().timeIntervalSince(validationStarted)
                if score > (best?.score ?? -.infinity) {
                    best = (score, model)
                    sinceBest = 0
                    improved = true
                } else {
                    sinceBest += 1
                }
            }
            records.append(record)
            onEpoch?(record, model, improved)
            if validate != nil && sinceBest >= s.patience { break }
            if let stop = s.stopAfterEpoch, epoch >= stop { break }
        }
        return (best?.model ?? engine.model, records)
    }
}

/// User plus system CPU time of this process so far, in seconds (every thread).
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
