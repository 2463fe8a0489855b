/// Training settings (`Config/train.json`): the shape of the towers and the optimisation.
/// Read by `twotower train`.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var embeddingDimension = 64
    public var epochs = 20
    public var batchSize = 1024
    public var learningRate = 0.005
    public var temperature = 0.1
    public var historyLength = 20
    public var seed: UInt64 = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case epochs, temperature, seed
        case embeddingDimension = "embedding_dimension", batchSize = "batch_size"
        case learningRate = "learning_rate", historyLength = "history_length"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfig()
        embeddingDimension = try c.value(.embeddingDimension, default: d.embeddingDimension)
        epochs = try c.value(.epochs, default: d.epochs)
        batchSize = try c.value(.batchSize, default: d.batchSize)
        learningRate = try c.value(.learningRate, default: d.learningRate)
        temperature = try c.value(.temperature, default: d.temperature)
        historyLength = try c.value(.historyLength, default: d.historyLength)
        seed = try c.value(.seed, default: d.seed)
    }
}

/// Index settings (`Config/index.json`): the IVF layout and the default search breadth.
/// Read by `twotower build-index` and `twotower search`.
public struct IndexConfig: Codable, Sendable, Equatable {
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

    enum CodingKeys: String, CodingKey {
        case path, metric, nlist, nprobe, encoding, seed
        case trainSample = "train_sample", keepVersions = "keep_versions"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = IndexConfig()
        path = try c.value(.path, default: d.path)
        metric = try c.value(.metric, default: d.metric)
        nlist = try c.value(.nlist, default: d.nlist)
        nprobe = try c.value(.nprobe, default: d.nprobe)
        encoding = try c.value(.encoding, default: d.encoding)
        trainSample = try c.value(.trainSample, default: d.trainSample)
        keepVersions = try c.value(.keepVersions, default: d.keepVersions)
        seed = try c.value(.seed, default: d.seed)
    }
}

/// Daemon settings (`Config/serve.json`). Read by `twotower serve`.
public struct ServingConfig: Codable, Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var defaultK = 10
    public var defaultNprobe = 8
    /// Worker threads for CPU work; 0 uses the number of cores.
    public var workerThreads = 0
    public var queueLimit = 256
    public var requestTimeoutMilliseconds = 1_000
    /// Name of the environment variable holding the admin bearer token.
    public var adminTokenEnvironment = "TWOTOWER_ADMIN_TOKEN"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case host, port
        case defaultK = "default_k", defaultNprobe = "default_nprobe", workerThreads = "worker_threads"
        case queueLimit = "queue_limit", requestTimeoutMilliseconds = "request_timeout_ms"
        case adminTokenEnvironment = "admin_token_env"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServingConfig()
        host = try c.value(.host, default: d.host)
        port = try c.value(.port, default: d.port)
        defaultK = try c.value(.defaultK, default: d.defaultK)
        defaultNprobe = try c.value(.defaultNprobe, default: d.defaultNprobe)
        workerThreads = try c.value(.workerThreads, default: d.workerThreads)
        queueLimit = try c.value(.queueLimit, default: d.queueLimit)
        requestTimeoutMilliseconds = try c.value(.requestTimeoutMilliseconds, default: d.requestTimeoutMilliseconds)
        adminTokenEnvironment = try c.value(.adminTokenEnvironment, default: d.adminTokenEnvironment)
    }
}
