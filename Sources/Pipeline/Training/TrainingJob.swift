import Evaluation
import Foundation
import Model
import ModelStore
import Settings
import Store

/// Training as `twotower train` and the demo run it: pairs from a split's train part, validation
/// on its validation part after every epoch, early stopping, optionally the refit on a larger
/// split, a run record in the store, and the model published into the model directory only
/// when the run completes (a killed run leaves the previous model in place).
public struct TrainingJob {
    public let storePath: String
    public let config: TrainingConfig
    public let split: String
    public let out: String
    /// A model directory to start from (a warm start for a refresh) instead of a fresh
    /// initialisation: known users, items and tokens keep their rows, new ones start fresh.
    public var initFrom: String?
    /// The keys of `config` to derive from the train part before training
    /// (`TrainingRecipe.derive`); empty: `config` is used as it is.
    public var derive: Set<String>

    public init(storePath: String, config: TrainingConfig, split: String? = nil, out: String, initFrom: String? = nil,
                derive: Set<String> = []) {
        self.storePath = storePath
        self.config = config
        self.split = split ?? config.split
        self.out = out
        self.initFrom = initFrom
        self.derive = derive
    }

    public struct Outcome: Sendable {
        public var model: TwoTowerModel
        /// The inputs the final model was trained with (features and the train part's histories).
        public var inputs: ModelInputs
        public var history: [EpochRecord]
        public var seconds: Double
        public var bestValidation: Double?
        /// Epochs of the refit on `refit_split`, when there was one.
        public var refitEpochs: Int?
        /// The run's id in the store's `runs` table.
        public var run: Int
        /// The configuration trained with, derived sizes included, and what was derived.
        public var config: TrainingConfig
        public var derived: [DataDerivedSizes.Derivation]
    }

    public func run(log: @escaping (String) -> Void) throws -> Outcome {
        try config.validate()
        let store = try InteractionStore(path: storePath, create: false)
        let runs = RunLog(store: store)
        let directory = ModelDirectory(path: out)
        for id in try runs.markInterrupted() { log("run \(id) did not finish (its process is gone): marked interrupted") }
        for leftover in directory.removeLeftovers() { log("removed \(leftover), left by a run that did not finish") }
        let users = try store.count("users"), items = try store.count("items")
        // One read of the train part: the histories, in (user, time) order, give the pairs too.
        let histories = try ModelData.trainingHistories(store: store, split: split, users: users)
        let pairs = Self.pairs(histories)
        guard !pairs.isEmpty else { throw StoreError.invalidSplit("split '\(split)' has no train interactions") }
        let start = try initFrom.map { try Checkpoint.load(from: $0) }
        let (config, derived) = DataDerivedSizes.apply(to: self.config, derive: derive, stats: .init(histories: histories, items: items),
                                                       keeping: start?.0.architecture)
        if !derived.isEmpty {
            log("sizes derived from the train part: " + derived.map { "\($0.key) \($0.value) (\($0.reason))" }.joined(separator: ", "))
            try config.validate()
        }
        var architecture = try ModelData.architecture(config: config, store: store)
        var initial: TwoTowerModel?
        if let initFrom, let start {
            let (old, info) = start
            initial = try TwoTowerModel.warmStarted(from: old, architecture: architecture, seed: config.seed)
            architecture = initial!.architecture
            log("warm start from \(initFrom) (\(info.epochs) epochs on '\(info.split)'): \(Format.count(old.architecture.user.count)) of "
                + "\(Format.count(users)) users and \(Format.count(old.architecture.item.count)) of \(Format.count(items)) items keep their rows")
        }
        let inputs = try ModelData.inputs(store: store, architecture: architecture, split: split, histories: histories)
        let validation = try EvaluationData.load(store: store, split: split, part: .validation)
        let settings = TrainerSettings(config: config)
        let configJSON = ConfigLoader.json(config)
        let run = try runs.start(kind: "train", config: configJSON)
        let runDirectory = try directory.beginRun(run)
        let started = Date()
        do {
            var outcome = try train(store: store, run: run, runDirectory: runDirectory, config: config, settings: settings, architecture: architecture,
                                    initial: initial, pairs: pairs, inputs: inputs, validation: validation, users: users, items: items,
                                    configJSON: configJSON, started: started, log: log)
            outcome.derived = derived
            try directory.publish(run: runDirectory)
            let summary = Summary(bestValidationRecall20: outcome.bestValidation, epochs: outcome.history.count,
                                  refitSplit: outcome.refitEpochs == nil ? nil : Self.refitName(config, split: split), refitEpochs: outcome.refitEpochs)
            try runs.finish(run: run, wallSeconds: outcome.seconds, summary: try jsonText(summary))
            return outcome
        } catch {
            try? runs.fail(run: run, wallSeconds: Date().timeIntervalSince(started), error: "\(error)")
            try? FileManager.default.removeItem(atPath: runDirectory)
            throw error
        }
    }

    /// `config` with the keys of `derive` set from `split`'s train part in the store at
    /// `storePath` (for a job that needs the sizes before training, as `tune` does).
    public static func resolve(_ config: TrainingConfig, derive: Set<String>, storePath: String,
                               split: String? = nil) throws -> (TrainingConfig, [DataDerivedSizes.Derivation]) {
        guard !derive.isEmpty else { return (config, []) }
        let store = try InteractionStore(path: storePath, create: false)
        let users = try store.count("users"), items = try store.count("items")
        let histories = try ModelData.trainingHistories(store: store, split: split ?? config.split, users: users)
        return DataDerivedSizes.apply(to: config, derive: derive, stats: .init(histories: histories, items: items))
    }

    /// What the run record says of a finished run (a metric that was not computed is null).
    struct Summary: Encodable {
        var bestValidationRecall20: Double?
        var epochs: Int
        var refitSplit: String?
        var refitEpochs: Int?

        enum CodingKeys: String, CodingKey {
            case bestValidationRecall20 = "best_validation_recall@20", epochs, refitSplit = "refit_split", refitEpochs = "refit_epochs"
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(bestValidationRecall20, forKey: .bestValidationRecall20)  // null, not a made-up −1
            try c.encode(epochs, forKey: .epochs)
            try c.encodeIfPresent(refitSplit, forKey: .refitSplit)
            try c.encodeIfPresent(refitEpochs, forKey: .refitEpochs)
        }
    }

    /// The (user, item) training pairs of per-user histories, in user then time order.
    static func pairs(_ histories: [[Int32]]) -> [(Int32, Int32)] {
        var pairs: [(Int32, Int32)] = []
        pairs.reserveCapacity(histories.reduce(0) { $0 + $1.count })
        for (u, items) in histories.enumerated() { for i in items { pairs.append((Int32(u), i)) } }
        return pairs
    }

    /// What the refit trains on, as the log and the run record name it.
    static func refitName(_ config: TrainingConfig, split: String) -> String {
        config.refitOnValidation ? "\(split) (train + validation)" : config.refitSplit
    }

    private func train(store: InteractionStore, run: Int, runDirectory: String, config: TrainingConfig, settings s: TrainerSettings, architecture: ModelArchitecture,
                       initial: TwoTowerModel?, pairs: [(Int32, Int32)], inputs: ModelInputs, validation: EvaluationData, users: Int, items: Int,
                       configJSON: String, started: Date, log: @escaping (String) -> Void) throws -> Outcome {
        let runs = RunLog(store: store)
        log("training on '\(split)': \(Format.count(pairs.count)) interactions, \(Format.count(users)) users, \(Format.count(items)) items, "
            + "d = \(s.dimension), batch \(s.batchSize), \(s.threads) threads" + Self.describe(architecture))
        let validate: ((TwoTowerModel) -> Double)? = validation.evaluatedUsers.isEmpty ? nil : { model in
            FullRankingEvaluator.evaluate(EmbeddingScorer(users: model.userEmbeddings(inputs), items: model.itemEmbeddings(inputs)),
                                          data: validation, ks: [20])["recall@20"] ?? 0
        }
        var best: Double?
        func info(epochs: Int, split: String) -> CheckpointInfo {
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
                + (r.validationSeconds.map { String(format: " (%.1f s)", $0) } ?? "")
                + (r.gemmGFLOPs.map { g in String(format: "  gemm %.0f GFLOP/s", g) + (r.historyGBPerSecond.map { String(format: ", history %.1f GB/s", $0) } ?? "") } ?? "")
                + (r.cpuPercent.map { String(format: "  CPU %.0f%%", $0) } ?? "")
                + (r.temperature.map { String(format: "  τ %.4f", $0) } ?? ""))
        }
        var (model, history) = try Trainer(settings: s).train(pairs: pairs, architecture: architecture, inputs: inputs,
                                                              validate: validate, onEpoch: { r, model, improved in
            progress(r, of: s.epochs)
            try? runs.epoch(run: run, epoch: r.epoch, metrics: (try? jsonText(r)) ?? "{}")
            // The run's best model so far is on disk after every improving epoch, so a later
            // failure keeps it (in the run's own directory, never over the published model).
            if improved {
                best = r.validation
                do { try Checkpoint.save(model, info: info(epochs: r.epoch, split: split), to: runDirectory) } catch { saveError = error }
            }
        }, initial: initial)
        if let saveError { throw saveError }
        var finalInputs = inputs
        var refitEpochs: Int?
        var finalInfo = info(epochs: history.count, split: split)
        if !config.refitSplit.isEmpty || config.refitOnValidation {
            // The epoch count early stopping chose (the first best), then the same schedule from
            // scratch on the larger train part: another split's, or this one's with its validation.
            let bestEpoch = history.max { ($0.validation ?? -1) < ($1.validation ?? -1) }?.epoch ?? history.count
            let refitSplit = config.refitOnValidation ? split : config.refitSplit
            let refitHistories = config.refitOnValidation
                ? try ModelData.histories(store: store, split: split, before: .test, users: users)
                : try ModelData.trainingHistories(store: store, split: refitSplit, users: users)
            let refitPairs = Self.pairs(refitHistories)
            guard !refitPairs.isEmpty else {
                throw StoreError.invalidSplit("refit_split '\(refitSplit)' has no train interactions")
            }
            finalInputs = try ModelData.inputs(store: store, architecture: architecture, split: refitSplit, histories: refitHistories)
            log("refit on '\(Self.refitName(config, split: split))': \(Format.count(refitPairs.count)) interactions for \(bestEpoch) epochs (the best validation epoch); "
                + "the validated model is kept in \((out as NSString).appendingPathComponent("validated"))")
            // The validated model stays loadable beside the refit one.
            try Checkpoint.save(model, info: info(epochs: bestEpoch, split: split), to: (runDirectory as NSString).appendingPathComponent("validated"))
            var refit = s
            refit.stopAfterEpoch = bestEpoch
            model = try Trainer(settings: refit).train(pairs: refitPairs, architecture: architecture, inputs: finalInputs,
                                                       validate: nil, onEpoch: { r, _, _ in progress(r, of: bestEpoch) }, initial: initial).model
            finalInfo = info(epochs: bestEpoch, split: refitSplit)
            refitEpochs = bestEpoch
        }
        try Checkpoint.save(model, info: finalInfo, to: runDirectory)
        return Outcome(model: model, inputs: finalInputs, history: history, seconds: Date().timeIntervalSince(started),
                       bestValidation: best, refitEpochs: refitEpochs, run: run, config: config, derived: [])
    }

    /// "towers: user: …; item: …" for the log, or "" for plain id towers.
    public static func describe(_ a: ModelArchitecture) -> String {
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
