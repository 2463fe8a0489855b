import Foundation
import Model
import Settings

/// The training sizes that depend on the data (`TrainingRecipe.derivableKeys`), derived from the
/// train part at train time, so one recipe (`Config/train.json`) fits a 100k-interaction set and
/// a 10M one alike.
///
/// Each rule is a power of two or a multiple of 32 clamped to a range the shipped configurations
/// and the experiments in `docs/experiments.md` cover:
/// - `batch_size`: about 200 batches an epoch (interactions / 200), 256…2,048;
/// - `epochs`: about 10,000 steps in all, 10…50 (early stopping usually ends sooner);
/// - `warmup_steps`: half an epoch, at most 200;
/// - `extra_negatives`: an eighth of the catalogue, 64…1,024 but never more than a quarter of it
///   (fewer items need fewer negatives to cover them; beyond 1,024 the logits cost more than
///   they give);
/// - `embedding_dimension`: √items rounded to a multiple of 32, 64…192;
/// - `history_length`: the 90th percentile of train interactions per user, 10…200, so nine
///   users in ten have their whole history pooled.
public enum DataDerivedSizes {
    /// What the rules read from the data.
    public struct Statistics: Equatable, Sendable {
        public var interactions: Int
        public var items: Int
        /// The 90th percentile of train interactions per user (users without any left out).
        public var historyP90: Int

        public init(interactions: Int, items: Int, historyP90: Int) {
            self.interactions = interactions
            self.items = items
            self.historyP90 = historyP90
        }

        /// The statistics of per-user train histories over a catalogue of `items`.
        public init(histories: [[Int32]], items: Int) {
            var lengths = histories.map(\.count).filter { $0 > 0 }
            lengths.sort()
            self.init(interactions: lengths.reduce(0, +), items: items,
                      historyP90: lengths.isEmpty ? 0 : lengths[min(lengths.count - 1, Int((Double(lengths.count) * 0.9).rounded(.up)) - 1)])
        }
    }

    /// One derived value and the reason for it, for the log.
    public struct Derivation: Equatable, Sendable {
        public var key: String
        public var value: Int
        public var reason: String
    }

    /// `config` with each key of `derive` set from `stats`, and what was set. A warm start passes
    /// the checkpoint's architecture in `keeping`: the sizes that shape it (dimension, history
    /// length) stay the checkpoint's, not derived again from a store that has grown since.
    public static func apply(to config: TrainingConfig, derive: Set<String>, stats: Statistics,
                             keeping architecture: ModelArchitecture? = nil) -> (TrainingConfig, [Derivation]) {
        var c = config, derive = derive
        if let architecture, !derive.isEmpty {
            c.embeddingDimension = architecture.user.dimension
            c.historyLength = architecture.history?.length ?? 0
            derive.subtract(["embedding_dimension", "history_length"])
        }
        var out: [Derivation] = []
        func set(_ key: String, _ value: Int, _ reason: String, _ assign: (inout TrainingConfig, Int) -> Void) {
            guard derive.contains(key) else { return }
            assign(&c, value)
            out.append(Derivation(key: key, value: value, reason: reason))
        }
        let n = stats.interactions, items = stats.items
        set("batch_size", powerOfTwo(near: Double(n) / 200, in: 256...2_048), "≈ \(n) interactions / 200") { $0.batchSize = $1 }
        let batches = max(1, (n + c.batchSize - 1) / c.batchSize)
        set("epochs", min(50, max(10, Int((10_000 / Double(batches)).rounded()))), "≈ 10,000 steps at \(batches) batches an epoch") { $0.epochs = $1 }
        set("warmup_steps", min(200, batches / 2), "half an epoch, at most 200") { $0.warmupSteps = $1 }
        set("extra_negatives", min(powerOfTwo(near: Double(items) / 8, in: 64...1_024), max(1, items / 4)),
            "≈ \(items) items / 8") { $0.extraNegatives = $1 }
        let d = min(192, max(64, 32 * Int((Double(items).squareRoot() / 32).rounded())))
        set("embedding_dimension", d, "≈ √\(items) items, a multiple of 32") { $0.embeddingDimension = $1 }
        set("history_length", min(200, max(10, stats.historyP90)), "the 90th percentile of train interactions per user (\(stats.historyP90))") { $0.historyLength = $1 }
        return (c, out)
    }

    /// The power of two nearest `x` (in log scale), clamped to `range`.
    static func powerOfTwo(near x: Double, in range: ClosedRange<Int>) -> Int {
        guard x >= 1 else { return range.lowerBound }
        let p = 1 << Int(log2(x).rounded())
        return min(range.upperBound, max(range.lowerBound, p))
    }
}
