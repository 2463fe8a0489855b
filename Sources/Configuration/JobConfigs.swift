/// Training settings (`Config/train.json`): the shape of the towers and the optimisation.
/// Read by `twotower train`.
public struct TrainingConfig: DefaultedConfig, Sendable, Equatable {
    public var embeddingDimension = 64
    public var epochs = 20
    public var batchSize = 1024
    public var learningRate = 0.005
    public var temperature = 0.1
    /// Decoupled weight decay (AdamW); 0 for none.
    public var weightDecay = 0.0
    /// Validations without improvement before early stopping.
    public var patience = 3
    /// The split trained on (its train part) and validated on (its validation part).
    public var split = "leave-last-out"
    /// Extra negatives per batch, shared by its rows (0: in-batch negatives only).
    public var extraNegatives = 0
    /// How extra negatives are drawn: `uniform` or `popularity`.
    public var negativeSampling = "uniform"
    /// Subtract log q (candidate sampling probability) from the logits (Yi et al. 2019).
    public var logqCorrection = false
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
    public var seed: UInt64 = 1

    public init() {}

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
    /// Worker threads for CPU work; 0 uses the number of cores.
    public var workerThreads = 0
    public var queueLimit = 256
    public var requestTimeoutMs = 1_000
    /// Name of the environment variable holding the admin bearer token.
    public var adminTokenEnv = "TWOTOWER_ADMIN_TOKEN"

    public init() {}

}
