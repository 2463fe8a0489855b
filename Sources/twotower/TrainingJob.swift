import Configuration
import Evaluation
import Foundation
import Model
import Store

/// Training as the `train` command and the demo run it: pairs from a split's train part,
/// validation on its validation part, a run record in the store, the best checkpoint written.
struct TrainingJob {
    let storePath: String
    let config: TrainingConfig
    let split: String
    let out: String

    struct Outcome {
        var model: TwoTowerModel
        var history: [EpochRecord]
        var seconds: Double
        var bestValidation: Double?
    }

    func run(log: @escaping (String) -> Void) throws -> Outcome {
        let store = try InteractionStore(path: storePath, create: false)
        let users = try store.count("users"), items = try store.count("items")
        var pairs: [(Int32, Int32)] = []
        var histories = [[Int32]](repeating: [], count: users)
        try store.forEachInteraction(split: split, part: .train) { u, i in
            pairs.append((Int32(u), Int32(i)))
            histories[u].append(Int32(i))
        }
        guard !pairs.isEmpty else { throw StoreError.invalidSplit("split '\(split)' has no train interactions") }
        let validation = try EvaluationData.load(store: store, split: split, part: .validation)
        var s = TrainerSettings()
        s.dimension = config.embeddingDimension
        s.epochs = config.epochs
        s.batchSize = config.batchSize
        s.learningRate = Float(config.learningRate)
        s.temperature = Float(config.temperature)
        s.weightDecay = Float(config.weightDecay)
        s.patience = config.patience
        s.seed = config.seed
        s.extraNegatives = config.extraNegatives
        guard let distribution = NegativeSampler.Distribution(rawValue: config.negativeSampling) else {
            throw ConfigError(path: "training configuration", message: "negative_sampling '\(config.negativeSampling)' is not uniform or popularity")
        }
        s.negativeDistribution = distribution
        s.logQCorrection = config.logqCorrection
        s.warmupSteps = config.warmupSteps
        guard let schedule = LearningRateSchedule(rawValue: config.lrSchedule) else {
            throw ConfigError(path: "training configuration", message: "lr_schedule '\(config.lrSchedule)' is not constant, cosine or linear")
        }
        s.schedule = schedule
        s.clipNorm = Float(config.clipNorm)
        switch config.loss {
        case "softmax": s.objective = .sampledSoftmax
        case "ccl": s.objective = .cosineContrastive(margin: Float(config.cclMargin), negativeWeight: Float(config.cclNegativeWeight))
        default: throw ConfigError(path: "training configuration", message: "loss '\(config.loss)' is not softmax or ccl")
        }
        let configJSON = ConfigLoader.json(config)
        let runs = RunLog(store: store)
        let run = try runs.start(kind: "train", config: configJSON)
        let started = Date()
        log("training on '\(split)': \(Format.count(pairs.count)) interactions, \(Format.count(users)) users, \(Format.count(items)) items, d = \(s.dimension), batch \(s.batchSize)")
        let validate: ((TwoTowerModel) -> Double)? = validation.evaluatedUsers.isEmpty ? nil : { model in
            FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(), items: model.itemEmbeddings()),
                                          data: validation, ks: [20])["recall@20"] ?? 0
        }
        let (model, history) = Trainer(settings: s).train(pairs: pairs, userCount: users, itemCount: items, histories: histories,
                                                         validate: validate) { r in
            let eta = Double(s.epochs - r.epoch) * r.seconds
            log(String(format: "epoch %3d  loss %.4f  %@ ex/s  %.1f s  ETA ≤ %@", r.epoch, r.loss, Format.count(Int(r.examplesPerSecond)),
                       r.seconds, Format.duration(eta)) + (r.validation.map { String(format: "  val recall@20 %.4f", $0) } ?? ""))
            try? runs.epoch(run: run, epoch: r.epoch, metrics: (try? jsonText(r)) ?? "{}")
        }
        let best = history.compactMap(\.validation).max()
        try Checkpoint.save(model, info: CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: users, itemCount: items,
                                                        dimension: s.dimension, config: configJSON, store: storePath, split: split,
                                                        validation: best, epochs: history.count), to: out)
        let seconds = Date().timeIntervalSince(started)
        try runs.finish(run: run, wallSeconds: seconds, summary: "{\"best_validation_recall@20\":\(best ?? -1),\"epochs\":\(history.count)}")
        return Outcome(model: model, history: history, seconds: seconds, bestValidation: best)
    }
}
