import Foundation

/// A training configuration as a run takes it: the values, the sizes it leaves to the data, and
/// where it came from (for the log).
///
/// The general default recipe is `Config/train.json`; the same text is built in
/// (`TrainingRecipe.builtInJSON`), so `twotower train` run from outside the repository trains the
/// same recipe. It asks for derived sizes (`derive_sizes`): each size key it does not set is
/// derived from the data at train time, and a key a file sets always wins.
public struct TrainingRecipe: Sendable, Equatable {
    public var config: TrainingConfig
    /// The keys to derive from the data (none unless the configuration asks for derived sizes).
    public var derive: Set<String>
    /// The file read, or "the built-in default recipe".
    public var source: String

    /// The keys `derive_sizes` may set, as a configuration file spells them.
    public static let derivableKeys: Set<String> = ["batch_size", "epochs", "warmup_steps", "extra_negatives",
                                                    "embedding_dimension", "history_length"]

    /// The general default recipe, the text of the shipped `Config/train.json`.
    public static let builtInJSON = """
        {
          "derive_sizes": true,
          "learning_rate": 0.005,
          "temperature": 0.1,
          "patience": 5,
          "split": "leave-last-out",
          "refit_on_validation": true,
          "negative_sampling": "popularity",
          "logq_correction": true,
          "lr_schedule": "cosine",
          "user_id_buckets": 1,
          "seed": 1
        }
        """

    public init(config: TrainingConfig, given: Set<String>, source: String) {
        self.config = config
        self.derive = config.deriveSizes ? Self.derivableKeys.subtracting(given) : []
        self.source = source
    }

    /// The built-in default recipe.
    public static func builtIn() throws -> TrainingRecipe {
        let data = Data(builtInJSON.utf8), source = "the built-in default recipe"
        return TrainingRecipe(config: try ConfigLoader.decode(TrainingConfig.self, from: data),
                              given: try ConfigLoader.keys(of: data, path: source), source: source)
    }

    /// `explicit` when given (it must exist); else `fallback` when it exists; else the built-in
    /// default recipe.
    public static func load(explicit: String?, fallback: String) throws -> TrainingRecipe {
        let path = explicit ?? fallback
        guard explicit != nil || FileManager.default.fileExists(atPath: fallback) else { return try builtIn() }
        return TrainingRecipe(config: try ConfigLoader.load(TrainingConfig.self, from: path),
                              given: try ConfigLoader.keys(in: path), source: path)
    }
}
