import ModelStore
import Settings
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
        var inputs: ModelInputs
        var history: [EpochRecord]
        var seconds: Double
        var bestValidation: Double?
        /// Epochs of the refit on `refit_split`, when there was one.
        var refitEpochs: Int?
    }

    func run(log: @escaping (String) -> Void) throws -> Outcome {
        try config.validate()
        let store = try InteractionStore(path: storePath, create: false)
        let users = try store.count("users"), items = try store.count("items")
        // One read of the train part: the histories, in (user, time) order, give the pairs too.
        let histories = try ModelData.trainingHistories(store: store, split: split, users: users)
        let pairs = histories.enumerated().flatMap { u, items in items.map { (Int32(u), $0) } }
        guard !pairs.isEmpty else { throw StoreError.invalidSplit("split '\(split)' has no train interactions") }
        let architecture = try ModelData.architecture(config: config, store: store)
        let inputs = try ModelData.inputs(store: store, architecture: architecture, split: split, histories: histories)
        let validation = try EvaluationData.load(store: store, split: split, part: .validation)
        var s = TrainerSettings()
        s.dimension = config.embeddingDimension
        s.epochs = config.epochs
        s.batchSize = config.batchSize
        s.learningRate = Float(config.learningRate)
        s.temperature = Float(config.temperature)
        s.learnTemperature = config.learnTemperature
        s.weightDecay = Float(config.weightDecay)
        s.embeddingWeightDecay = Float(config.embeddingWeightDecay)
        s.patience = config.patience
        s.seed = config.seed
        s.extraNegatives = config.extraNegatives
        s.negativeDistribution = NegativeSampler.Distribution(rawValue: config.negativeSampling)!
        s.logQCorrection = config.logqCorrection
        s.logQWeight = Float(config.logqWeight)
        s.streamingFrequency = config.logqEstimate == "streaming"
        s.warmupSteps = config.warmupSteps
        s.schedule = LearningRateSchedule(rawValue: config.lrSchedule)!
        s.clipNorm = Float(config.clipNorm)
        switch config.loss {
        case "ccl": s.objective = .cosineContrastive(margin: Float(config.cclMargin), negativeWeight: Float(config.cclNegativeWeight))
        case "bpr": s.objective = .bpr
        default: s.objective = .sampledSoftmax
        }
        let configJSON = ConfigLoader.json(config)
        let runs = RunLog(store: store)
        let run = try runs.start(kind: "train", config: configJSON)
        let started = Date()
        log("training on '\(split)': \(Format.count(pairs.count)) interactions, \(Format.count(users)) users, \(Format.count(items)) items, d = \(s.dimension), batch \(s.batchSize)"
            + Self.describe(architecture))
        let validate: ((TwoTowerModel) -> Double)? = validation.evaluatedUsers.isEmpty ? nil : { model in
            FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(inputs), items: model.itemEmbeddings(inputs)),
                                          data: validation, ks: [20])["recall@20"] ?? 0
        }
        var best: Double?
        func info(epochs: Int) -> CheckpointInfo {
            var info = CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: users, itemCount: items, dimension: s.dimension,
                                      config: configJSON, store: storePath, split: split, validation: best, epochs: epochs)
            info.run = run
            return info
        }
        var saveError: Error?
        func progress(_ r: EpochRecord, of epochs: Int) {
            let eta = Double(epochs - r.epoch) * r.seconds
            log(String(format: "epoch %3d  loss %.4f  %@ ex/s  %.1f s  ETA ≤ %@", r.epoch, r.loss, Format.count(Int(r.examplesPerSecond)),
                       r.seconds, Format.duration(eta)) + (r.validation.map { String(format: "  val recall@20 %.4f", $0) } ?? "")
                + (r.temperature.map { String(format: "  τ %.4f", $0) } ?? ""))
        }
        var (model, history): (TwoTowerModel, [EpochRecord]) = try Trainer(settings: s).train(pairs: pairs, architecture: architecture, inputs: inputs,
                                                              validate: validate) { r, model, improved in
            progress(r, of: s.epochs)
            try? runs.epoch(run: run, epoch: r.epoch, metrics: (try? jsonText(r)) ?? "{}")
            // The best model so far is on disk after every improving epoch, so a later failure keeps it.
            if improved {
                best = r.validation
                do { try Checkpoint.save(model, info: info(epochs: r.epoch), to: out) } catch { saveError = error }
            }
        }
        if let saveError { throw saveError }
        let validatedModel = model
        var finalInfo = info(epochs: history.count)
        var finalInputs = inputs
        var refitSummary = ""
        var refitEpochs: Int?
        if !config.refitSplit.isEmpty {
            // The epoch count early stopping chose (the first best), then the same schedule from
            // scratch on the larger train part; the validated checkpoint stays until this one is saved.
            let bestEpoch = history.max { ($0.validation ?? -1) < ($1.validation ?? -1) }?.epoch ?? history.count
            let refitHistories = try ModelData.trainingHistories(store: store, split: config.refitSplit, users: users)
            let refitPairs = refitHistories.enumerated().flatMap { u, items in items.map { (Int32(u), $0) } }
            guard !refitPairs.isEmpty else {
                throw StoreError.invalidSplit("refit_split '\(config.refitSplit)' has no train interactions")
            }
            finalInputs = try ModelData.inputs(store: store, architecture: architecture, split: config.refitSplit, histories: refitHistories)
            log("refit on '\(config.refitSplit)': \(Format.count(refitPairs.count)) interactions for \(bestEpoch) epochs (the best validation epoch); "
                + "the validated model is kept in \((out as NSString).appendingPathComponent("validated"))")
            var refit = s
            refit.stopAfterEpoch = bestEpoch
            model = try Trainer(settings: refit).train(pairs: refitPairs, architecture: architecture, inputs: finalInputs,
                                                       validate: nil, onEpoch: { r, _, _ in progress(r, of: bestEpoch) }).model
            // The validated model stays loadable beside the refit one.
            try Checkpoint.save(validatedModel, info: info(epochs: bestEpoch), to: (out as NSString).appendingPathComponent("validated"))
            finalInfo = info(epochs: bestEpoch)
            refitEpochs = bestEpoch
            finalInfo.split = config.refitSplit
            refitSummary = ",\"refit_split\":\"\(config.refitSplit)\",\"refit_epochs\":\(bestEpoch)"
        }
        try Checkpoint.save(model, info: finalInfo, to: out)
        let seconds = Date().timeIntervalSince(started)
        try runs.finish(run: run, wallSeconds: seconds,
                        summary: "{\"best_validation_recall@20\":\(best ?? -1),\"epochs\":\(history.count)\(refitSummary)}")
        return Outcome(model: model, inputs: finalInputs, history: history, seconds: seconds, bestValidation: best, refitEpochs: refitEpochs)
    }

    static func describe(_ a: ModelArchitecture) -> String {
        var parts: [String] = []
        for (name, t) in [("user", a.user), ("item", a.item)] {
            var p: [String] = []
            if t.idBuckets > 0 { p.append("ids hashed into \(t.idBuckets)") }
            if !t.tokenFeatures.isEmpty { p.append(t.tokenFeatures.joined(separator: "+")) }
            if !t.numeric.isEmpty { p.append(t.numeric.map(\.name).joined(separator: "+")) }
            if let mlp = t.mlp { p.append("MLP \(mlp.hidden)") }
            if !p.isEmpty { parts.append("\(name): " + p.joined(separator: ", ")) }
        }
        if let h = a.history { parts.append("history \(h.length) (\(h.shared ? "shared" : "own") table\(h.hasLearnedWeights ? ", learned weights" : ""))") }
        return parts.isEmpty ? "" : "\n  towers: " + parts.joined(separator: "; ")
    }
}
