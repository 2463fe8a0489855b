import Foundation
import Settings
import VectorIndex

/// Where the daemon reads from and how it behaves, resolved from `Config/serve.json`, the
/// environment and the command line.
public struct ServingOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var storePath: String
    public var modelPath: String
    public var indexPath: String
    public var defaultK = 10
    /// nil: the index's calibrated nprobe (`IndexMetadata.defaultNprobe`).
    public var defaultNprobe: Int?
    /// SQ8 and PQ indexes: re-ranked candidates as a multiple of k (nil: the index's calibrated one).
    public var rerankFactor: Int?
    public var workerThreads = 2
    public var queueLimit = 256
    public var requestTimeout = Duration.milliseconds(1_000)
    /// A connection that sends nothing for this long (an idle keep-alive, or a request whose
    /// header never completes) is closed; nil keeps connections open forever.
    public var idleTimeout: Duration? = .seconds(10)
    /// The bearer token admin routes require; nil disables them.
    public var adminToken: String?
    /// The environment variable the admin token was read from (for messages).
    public var adminTokenEnv = "TWOTOWER_ADMIN_TOKEN"
    /// The bearer token `POST /v1/events` requires; nil disables the route.
    public var eventsToken: String?
    public var eventsTokenEnv = "TWOTOWER_EVENTS_TOKEN"
    /// Most event batches waiting for the writer before the route answers 503.
    public var eventsQueueLimit = 1_024
    /// A merge of accepted events into the store starts at this many pending events…
    public var eventsMergeEvents = 50_000
    /// …or when the oldest pending event has waited this long.
    public var eventsMergeInterval = Duration.seconds(5)

    public init(storePath: String, modelPath: String, indexPath: String) {
        self.storePath = storePath
        self.modelPath = modelPath
        self.indexPath = indexPath
    }

    /// What a command line may set over the configuration and the environment.
    public struct Overrides: Sendable {
        public var store, model, index, host: String?
        public var port: Int?
        public init() {}
    }

    /// The options of `config`, then `TWOTOWER_HOST`, `_PORT`, `_STORE`, `_MODEL`, `_INDEX` from
    /// `environment`, then `overrides`; the admin token from the variable `admin_token_env` names.
    /// - Throws: `ConfigError` naming an impossible value.
    public init(config: ServingConfig, environment: [String: String], overrides: Overrides = Overrides()) throws {
        var c = config
        if let v = environment["TWOTOWER_HOST"] { c.host = v }
        if let v = environment["TWOTOWER_PORT"] {
            guard let p = Int(v) else { throw ConfigError(path: "TWOTOWER_PORT", message: "'\(v)' is not a port number") }
            c.port = p
        }
        if let v = environment["TWOTOWER_STORE"] { c.store = v }
        if let v = environment["TWOTOWER_MODEL"] { c.model = v }
        if let v = environment["TWOTOWER_INDEX"] { c.index = v }
        if let v = overrides.port { c.port = v }
        if let v = overrides.host { c.host = v }
        try c.validate()
        self.init(storePath: overrides.store ?? c.store, modelPath: overrides.model ?? c.model, indexPath: overrides.index ?? c.index)
        host = c.host
        port = c.port
        defaultK = c.defaultK
        defaultNprobe = c.defaultNprobe > 0 ? c.defaultNprobe : nil
        rerankFactor = c.rerankFactor > 0 ? c.rerankFactor : nil
        workerThreads = c.workerThreads > 0 ? c.workerThreads : ProcessInfo.processInfo.activeProcessorCount
        queueLimit = c.queueLimit
        requestTimeout = .milliseconds(c.requestTimeoutMs)
        idleTimeout = c.idleTimeoutMs > 0 ? .milliseconds(c.idleTimeoutMs) : nil
        adminTokenEnv = c.adminTokenEnv
        adminToken = environment[c.adminTokenEnv].flatMap { $0.isEmpty ? nil : $0 }
        eventsTokenEnv = c.eventsTokenEnv
        eventsToken = environment[c.eventsTokenEnv].flatMap { $0.isEmpty ? nil : $0 }
        eventsQueueLimit = c.eventsQueueLimit
        eventsMergeEvents = c.eventsMergeEvents
        eventsMergeInterval = .milliseconds(c.eventsMergeMs)
    }
}
