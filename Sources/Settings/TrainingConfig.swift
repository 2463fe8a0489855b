import Model

/// Training settings (`Config/train.json`): the shape of the towers and the optimisation.
/// Read by `twotower train`, `twotower tune` and the demo. Fields that name a choice decode into
/// the model's own types, so a misspelt value is an error naming the key and the choices.
public struct TrainingConfig: DefaultedConfig, Sendable, Equatable {
    public var embeddingDimension = 64
    public var epochs = 20
    public var batchSize = 1024
    public var learningRate = 0.005
    public var temperature = 0.1
    /// Learn τ (starting from `temperature`) with the other parameters; sampled softmax only.
    public var learnTemperature = false
    /// Decoupled weight decay (AdamW); 0 for none.
    public var weightDecay = 0.0
    /// Validations without improvement before early stopping.
    public var patience = 3
    /// The split trained on (its train part) and validated on (its validation part).
    public var split = "leave-last-out"
    /// After early stopping on `split`, train again from scratch on this split's train part
    /// (typically the split the validation was carved from, so validation interactions are
    /// trained on too) for the best epoch count, and keep that model. Empty: no refit.
    public var refitSplit = ""
    /// After early stopping, train again from scratch on `split`'s train and validation parts
    /// together for the best epoch count, and keep that model: the refit for a split that has
    /// no larger sibling (leave-last-out, a ratio split). Not with `refit_split`.
    public var refitOnValidation = false
    /// Derive the sizes that depend on the data (embedding dimension, batch size, history
    /// length, extra negatives, warm-up steps, epochs) from the store at train time, for each of
    /// those keys the configuration file does not set (`DataDerivedSizes` has the rules).
    public var deriveSizes = false
    /// Extra negatives per batch, shared by its rows (0: in-batch negatives only).
    public var extraNegatives = 0
    /// How extra negatives are drawn.
    public var negativeSampling = NegativeSampler.Distribution.uniform
    /// Subtract log q (candidate sampling probability) from the logits (Yi et al. 2019).
    public var logqCorrection = false
    /// Scale of the logQ correction (1: full; between 0 and 1 keeps some popularity prior).
    public var logqWeight = 1.0
    /// Linear learning-rate warm-up steps, then `lr_schedule`.
    public var warmupSteps = 0
    public var lrSchedule = LearningRateSchedule.constant
    /// Clip gradients to this global L2 norm (0: off).
    public var clipNorm = 0.0
    /// The loss: sampled softmax, SimpleX's cosine contrastive loss, or BPR.
    public var loss = LossName.softmax
    /// CCL: the margin below which negatives are not penalised, and their weight.
    public var cclMargin = 0.9
    public var cclNegativeWeight = 150.0
    /// Decoupled weight decay on embedding rows (off unless asked).
    public var embeddingWeightDecay = 0.0
    /// logQ probabilities from whole-data counts or Yi et al.'s streaming estimate.
    public var logqEstimate = LogQEstimate.counts
    /// Tower inputs. Side features from the store (categorical and multi-hot pooled, numeric
    /// standardised), when it has any.
    public var userFeatures = true
    public var itemFeatures = true
    /// User tower: mean of the last N training items' embeddings (0: off), from the item
    /// tower's id table (`history_shared`) or a table of its own.
    public var historyLength = 0
    public var historyShared = true
    /// How the history is pooled.
    public var historyPooling = HistoryPooling.mean
    /// Hash user / item ids into this many rows (0: one row per id).
    public var userIdBuckets = 0
    public var itemIdBuckets = 0
    /// Standard deviation of id embeddings at initialisation.
    public var idInitScale = 0.1
    /// MLP after the encoders in both towers: hidden widths (empty: no MLP), its activation,
    /// LayerNorm after hidden layers, dropout rate, residual connection.
    public var mlpHidden: [Int] = []
    public var mlpActivation = Activation.relu
    public var layerNorm = false
    public var dropout = 0.0
    public var residual = true
    /// Worker threads for a training step (0: one per core).
    public var trainThreads = 0
    public var seed: UInt64 = 1

    public init() {}

    /// Impossible values, named, before any work starts.
    public func validate() throws {
        let check = ConfigError.checker(for: "training configuration")
        try check(embeddingDimension > 0, "embedding_dimension", embeddingDimension, "a positive integer")
        try check(epochs > 0, "epochs", epochs, "a positive integer")
        try check(batchSize > 1, "batch_size", batchSize, "at least 2 (in-batch negatives need a batch)")
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate", learningRate, "a positive number")
        try check(temperature > 0 && temperature.isFinite, "temperature", temperature, "a positive number")
        try check(weightDecay >= 0, "weight_decay", weightDecay, "≥ 0")
        try check(embeddingWeightDecay >= 0, "embedding_weight_decay", embeddingWeightDecay, "≥ 0")
        try check(patience > 0, "patience", patience, "a positive integer")
        try check(refitSplit != split, "refit_split", refitSplit, "a split other than `split` (or empty)")
        try check(!(refitOnValidation && !refitSplit.isEmpty), "refit_on_validation", refitOnValidation, "false when refit_split is set (one refit or the other)")
        try check(extraNegatives >= 0, "extra_negatives", extraNegatives, "≥ 0")
        try check(logqWeight >= 0 && logqWeight.isFinite, "logq_weight", logqWeight, "≥ 0")
        try check(warmupSteps >= 0, "warmup_steps", warmupSteps, "≥ 0")
        try check(clipNorm >= 0, "clip_norm", clipNorm, "≥ 0")
        try check(historyLength >= 0, "history_length", historyLength, "≥ 0")
        try check(userIdBuckets >= 0 && itemIdBuckets >= 0, "user_id_buckets/item_id_buckets", "\(userIdBuckets)/\(itemIdBuckets)", "≥ 0")
        try check(mlpHidden.allSatisfy { $0 > 0 }, "mlp_hidden", mlpHidden, "positive widths")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "in [0, 1)")
        try check(idInitScale >= 0 && idInitScale.isFinite, "id_init_scale", idInitScale, "≥ 0")
        try check(trainThreads >= 0, "train_threads", trainThreads, "≥ 0 (0: one per core)")
    }
}
