/// Training settings (`Config/train.json`): the shape of the towers and the optimisation.
/// Read by `twotower train`.
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
    /// Extra negatives per batch, shared by its rows (0: in-batch negatives only).
    public var extraNegatives = 0
    /// How extra negatives are drawn: `uniform` or `popularity`.
    public var negativeSampling = "uniform"
    /// Subtract log q (candidate sampling probability) from the logits (Yi et al. 2019).
    public var logqCorrection = false
    /// Scale of the logQ correction (1: full; between 0 and 1 keeps some popularity prior).
    public var logqWeight = 1.0
    /// Linear learning-rate warm-up steps, then `lr_schedule`: `constant`, `cosine` or `linear`.
    public var warmupSteps = 0
    public var lrSchedule = "constant"
    /// Clip gradients to this global L2 norm (0: off).
    public var clipNorm = 0.0
    /// `softmax` (sampled softmax / InfoNCE) or `ccl` (SimpleX's cosine contrastive loss).
    public var loss = "softmax"
    /// CCL: the margin below which negatives are not penalised, and their weight.
    public var cclMargin = 0.9
    public var cclNegativeWeight = 150.0
    /// Decoupled weight decay on embedding rows (off unless asked).
    public var embeddingWeightDecay = 0.0
    /// logQ probabilities from whole-data `counts` or Yi et al.'s `streaming` estimate.
    public var logqEstimate = "counts"
    /// Tower inputs. Side features from the store (categorical and multi-hot pooled, numeric
    /// standardised), when it has any.
    public var userFeatures = true
    public var itemFeatures = true
    /// User tower: mean of the last N training items' embeddings (0: off), from the item
    /// tower's id table (`history_shared`) or a table of its own.
    public var historyLength = 0
    public var historyShared = true
    /// How the history is pooled: `mean`, or `learned` (a softmax-weighted mean with a learned
    /// logit per item).
    public var historyPooling = "mean"
    /// Hash user / item ids into this many rows (0: one row per id).
    public var userIdBuckets = 0
    public var itemIdBuckets = 0
    /// Standard deviation of id embeddings at initialisation.
    public var idInitScale = 0.1
    /// MLP after the encoders in both towers: hidden widths (empty: no MLP), `relu` or `gelu`,
    /// LayerNorm after hidden layers, dropout rate, residual connection.
    public var mlpHidden: [Int] = []
    public var mlpActivation = "relu"
    public var layerNorm = false
    public var dropout = 0.0
    public var residual = true
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
        try check(extraNegatives >= 0, "extra_negatives", extraNegatives, "≥ 0")
        try check(["uniform", "popularity"].contains(negativeSampling), "negative_sampling", negativeSampling, "uniform or popularity")
        try check(["constant", "cosine", "linear"].contains(lrSchedule), "lr_schedule", lrSchedule, "constant, cosine or linear")
        try check(["softmax", "ccl", "bpr"].contains(loss), "loss", loss, "softmax, ccl or bpr")
        try check(logqWeight >= 0 && logqWeight.isFinite, "logq_weight", logqWeight, "≥ 0")
        try check(["counts", "streaming"].contains(logqEstimate), "logq_estimate", logqEstimate, "counts or streaming")
        try check(warmupSteps >= 0, "warmup_steps", warmupSteps, "≥ 0")
        try check(clipNorm >= 0, "clip_norm", clipNorm, "≥ 0")
        try check(historyLength >= 0, "history_length", historyLength, "≥ 0")
        try check(["mean", "learned"].contains(historyPooling), "history_pooling", historyPooling, "mean or learned")
        try check(userIdBuckets >= 0 && itemIdBuckets >= 0, "user_id_buckets/item_id_buckets", "\(userIdBuckets)/\(itemIdBuckets)", "≥ 0")
        try check(mlpHidden.allSatisfy { $0 > 0 }, "mlp_hidden", mlpHidden, "positive widths")
        try check(["relu", "gelu"].contains(mlpActivation), "mlp_activation", mlpActivation, "relu or gelu")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "in [0, 1)")
        try check(idInitScale >= 0 && idInitScale.isFinite, "id_init_scale", idInitScale, "≥ 0")
    }
}

/// Index settings (`Config/index.json`): the IVF layout and the default search breadth.
/// Read by `twotower build-index` and `twotower search`.
public struct IndexConfig: DefaultedConfig, Sendable, Equatable {
    public var path = "Data/generated/index"
    /// `inner_product`, `cosine` or `l2`.
    public var metric = "inner_product"
    /// Number of inverted lists; 0 picks about 4·√n.
    public var nlist = 0
    public var nprobe = 8
    /// `flat` or `sq8`.
    public var encoding = "flat"
    /// Vectors sampled to train k-means; 0 uses all.
    public var trainSample = 100_000
    public var keepVersions = 3
    public var seed: UInt64 = 1

    public init() {}

}

/// Daemon settings (`Config/serve.json`). Read by `twotower serve`.
public struct ServingConfig: DefaultedConfig, Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var defaultK = 10
    public var defaultNprobe = 8
    /// SQ8 indexes: candidates re-ranked with full-precision vectors, as a multiple of k
    /// (measure with `twotower ann-eval --rerank-factor`).
    public var rerankFactor = 4
    /// Worker threads for CPU work; 0 uses the number of cores.
    public var workerThreads = 0
    public var queueLimit = 256
    public var requestTimeoutMs = 1_000
    /// Name of the environment variable holding the admin bearer token (admin routes are off
    /// while it is unset).
    public var adminTokenEnv = "TWOTOWER_ADMIN_TOKEN"
    /// What the daemon serves: the store, the model directory and the index directory.
    public var store = "Data/generated/store.sqlite"
    public var model = "Data/generated/model"
    public var index = "Data/generated/index"

    public init() {}

    /// Impossible values, named, before the daemon starts.
    public func validate() throws {
        let check = ConfigError.checker(for: "serving configuration")
        try check((0...65_535).contains(port), "port", port, "0…65535")
        try check((1...1000).contains(defaultK), "default_k", defaultK, "1…1000")
        try check(defaultNprobe >= 1, "default_nprobe", defaultNprobe, "≥ 1")
        try check(rerankFactor >= 1, "rerank_factor", rerankFactor, "≥ 1")
        try check(workerThreads >= 0, "worker_threads", workerThreads, "≥ 0 (0: one per core)")
        try check(queueLimit >= 1, "queue_limit", queueLimit, "≥ 1")
        try check(requestTimeoutMs >= 1, "request_timeout_ms", requestTimeoutMs, "≥ 1")
    }

}
