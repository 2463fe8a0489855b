import Foundation
import Model
import Randomness
import Settings

/// `twotower tune`: a time-boxed search, on the split's validation part, over the few training
/// settings that matter most (temperature, learning rate, embedding dimension, extra negatives
/// with logQ, loss), by successive halving: many configurations for a few epochs, the better half
/// continued for twice as many, and so on; the last one left is trained with the base
/// configuration's epochs and early stopping. The base configuration is always the first trial,
/// so what the search returns is never worse on validation than what it started from, as far as
/// the rungs it reached could tell.
///
/// Trials train from scratch at each rung (nothing of a shorter run is reused) without a refit,
/// into a scratch directory that is removed afterwards; each is a real training run, recorded in
/// the store's `runs` table like any other.
public struct TuneJob {
    public let storePath: String
    public let base: TrainingConfig
    /// Wall-clock limit: no trial is started that the measured pace says would end past it.
    public var budget: TimeInterval
    /// Configurations at the first rung (the base included).
    public var trials = 12
    /// Epochs at the first rung; each later rung doubles them.
    public var firstEpochs = 2
    public var seed: UInt64 = 1

    public init(storePath: String, base: TrainingConfig, budget: TimeInterval) {
        self.storePath = storePath
        self.base = base
        self.budget = budget
    }

    /// One trained configuration.
    public struct Trial: Encodable, Sendable {
        public var id: Int
        public var rung: Int
        public var epochs: Int
        public var temperature: Double
        public var learningRate: Double
        public var embeddingDimension: Int
        public var extraNegatives: Int
        public var loss: String
        /// Best validation Recall@20 over the trial's epochs.
        public var validationRecall20: Double
        public var epochsRun: Int
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case id, rung, epochs, temperature, loss, seconds
            case learningRate = "learning_rate", embeddingDimension = "embedding_dimension", extraNegatives = "extra_negatives"
            case validationRecall20 = "validation_recall20", epochsRun = "epochs_run"
        }
    }

    public struct Outcome: Sendable {
        /// The best configuration found, with the base's epochs and patience.
        public var best: TrainingConfig
        public var bestValidation: Double
        public var trials: [Trial]
        public var seconds: Double
        /// Whether the budget stopped the search before it finished its last rung.
        public var stoppedByBudget: Bool
    }

    /// The search space around `base`: each candidate changes a few of its settings.
    static func candidates(base: TrainingConfig, count: Int, seed: UInt64) -> [TrainingConfig] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        var out = [base]
        var seen: Set<String> = [key(base)]
        var attempts = 0
        while out.count < count && attempts < 50 * count {
            attempts += 1
            var c = base
            c.temperature = pick([0.05, 0.07, 0.1, 0.15, 0.2])
            c.learningRate = pick([0.002, 0.005, 0.01])
            c.embeddingDimension = pick([32, 64, 128, 192])
            let extras = pick([0, 256, 1_024])
            c.extraNegatives = extras
            c.negativeSampling = extras > 0 ? .popularity : base.negativeSampling
            c.logqCorrection = extras > 0 ? true : base.logqCorrection
            c.loss = pick([LossName.softmax, .softmax, .softmax, .ccl])
            if c.loss == .ccl && c.extraNegatives == 0 { c.extraNegatives = 256 }
            guard seen.insert(key(c)).inserted else { continue }
            out.append(c)
        }
        return out
    }

    static func key(_ c: TrainingConfig) -> String {
        "\(c.temperature)|\(c.learningRate)|\(c.embeddingDimension)|\(c.extraNegatives)|\(c.loss.rawValue)|\(c.logqCorrection)"
    }

    public func run(log: @escaping (String) -> Void) throws -> Outcome {
        try base.validate()
        guard budget > 0 else { throw JobError("the budget must be positive") }
        let started = Date()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("twotower-tune-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var alive = Self.candidates(base: base, count: max(1, trials), seed: seed).enumerated().map { ($0.offset, $0.element) }
        var all: [Trial] = []
        var epochs = max(1, min(firstEpochs, base.epochs))
        var rung = 0
        var secondsPerEpochAndDimension: Double?
        var stopped = false
        var leader: (id: Int, config: TrainingConfig, recall: Double)?
        search: while !alive.isEmpty {
            let finalRung = alive.count == 1 || epochs >= base.epochs
            let rungEpochs = finalRung ? base.epochs : epochs
            log("rung \(rung): \(alive.count) configuration\(alive.count == 1 ? "" : "s") × \(rungEpochs) epochs"
                + (finalRung ? " with early stopping" : ""))
            var results: [(id: Int, config: TrainingConfig, recall: Double)] = []
            for (id, candidate) in alive {
                var c = candidate
                c.epochs = rungEpochs
                c.patience = finalRung ? base.patience : rungEpochs
                c.refitSplit = ""
                c.refitOnValidation = false
                // The pace so far, scaled by the dimension, tells whether this trial still fits.
                if let pace = secondsPerEpochAndDimension {
                    let expected = pace * Double(rungEpochs * max(c.embeddingDimension, 16))
                    if Date().timeIntervalSince(started) + expected > budget {
                        log("  trial \(id): would end past the budget (about \(Int(expected)) s more); the search stops here")
                        stopped = true
                        if results.isEmpty { break search }
                        break
                    }
                }
                let t0 = Date()
                let outcome = try TrainingJob(storePath: storePath, config: c, out: scratch + "/trial-\(id)-\(rung)").run { _ in }
                let seconds = Date().timeIntervalSince(t0)
                let recall = outcome.bestValidation ?? 0
                let pace = seconds / Double(max(outcome.history.count, 1) * max(c.embeddingDimension, 16))
                secondsPerEpochAndDimension = max(secondsPerEpochAndDimension ?? 0, pace)
                results.append((id, candidate, recall))
                all.append(Trial(id: id, rung: rung, epochs: rungEpochs, temperature: c.temperature, learningRate: c.learningRate,
                                 embeddingDimension: c.embeddingDimension, extraNegatives: c.extraNegatives, loss: c.loss.rawValue,
                                 validationRecall20: recall, epochsRun: outcome.history.count, seconds: seconds))
                log(String(format: "  trial %d: τ %.2f, lr %.3f, d %d, %d extras, %@: validation recall@20 %.4f after %d epochs (%.1f s)",
                           id, c.temperature, c.learningRate, c.embeddingDimension, c.extraNegatives, c.loss.rawValue, recall,
                           outcome.history.count, seconds))
                try? FileManager.default.removeItem(atPath: scratch + "/trial-\(id)-\(rung)")
            }
            // Best first; equal figures keep the earlier trial (the base is trial 0).
            results.sort { $0.recall != $1.recall ? $0.recall > $1.recall : $0.id < $1.id }
            leader = results[0]
            if finalRung || stopped { break }
            alive = results.prefix((results.count + 1) / 2).map { ($0.id, $0.config) }
            epochs *= 2
            rung += 1
        }
        // The winner is the best trial of the deepest rung that was finished or stopped inside.
        guard let leader else { throw JobError("no trial finished within the budget") }
        var best = leader.config
        best.epochs = base.epochs
        best.patience = base.patience
        best.refitSplit = base.refitSplit
        best.refitOnValidation = base.refitOnValidation
        best.deriveSizes = false  // its sizes are the ones tried
        return Outcome(best: best, bestValidation: leader.recall, trials: all,
                       seconds: Date().timeIntervalSince(started), stoppedByBudget: stopped)
    }
}
