/// Daemon settings (`Config/serve.json`). Read by `twotower serve`.
public struct ServingConfig: DefaultedConfig, Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var defaultK = 10
    /// 0: the index's calibrated nprobe (or 8 for an index built without calibration).
    public var defaultNprobe = 0
    /// SQ8 and PQ indexes: candidates re-ranked with full-precision vectors, as a multiple of k
    /// (0: the index's calibrated value; measure with `twotower ann-eval --rerank-factor`).
    public var rerankFactor = 0
    /// Worker threads for CPU work; 0 uses the number of cores.
    public var workerThreads = 0
    public var queueLimit = 256
    public var requestTimeoutMs = 1_000
    /// Close a connection that sends nothing for this long: an idle keep-alive, or a request
    /// whose header never completes (0: never).
    public var idleTimeoutMs = 10_000
    /// Name of the environment variable holding the admin bearer token (admin routes are off
    /// while it is unset).
    public var adminTokenEnv = "TWOTOWER_ADMIN_TOKEN"
    /// Name of the environment variable holding the bearer token of `POST /v1/events` (its own,
    /// so an event producer need not hold the admin token; the route is off while it is unset).
    public var eventsTokenEnv = "TWOTOWER_EVENTS_TOKEN"
    /// Most event batches waiting for the store's writer before `POST /v1/events` answers 503.
    public var eventsQueueLimit = 1_024
    /// Accepted events go to the event log at once and into the store's interactions in merges:
    /// one starts once this many events are pending, or once the oldest has waited
    /// `events_merge_ms`. Larger merges cost less per event; until merged, events are in the
    /// daemon's memory and its log (offline commands see them after the merge).
    public var eventsMergeEvents = 50_000
    public var eventsMergeMs = 5_000
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
        try check(defaultNprobe >= 0, "default_nprobe", defaultNprobe, "≥ 0 (0: the index's calibrated value)")
        try check(rerankFactor >= 0, "rerank_factor", rerankFactor, "≥ 0 (0: the index's calibrated value)")
        try check(workerThreads >= 0, "worker_threads", workerThreads, "≥ 0 (0: one per core)")
        try check(queueLimit >= 1, "queue_limit", queueLimit, "≥ 1")
        try check(requestTimeoutMs >= 1, "request_timeout_ms", requestTimeoutMs, "≥ 1")
        try check(eventsQueueLimit >= 1, "events_queue_limit", eventsQueueLimit, "≥ 1")
        try check(eventsMergeEvents >= 1, "events_merge_events", eventsMergeEvents, "≥ 1")
        try check(eventsMergeMs >= 1, "events_merge_ms", eventsMergeMs, "≥ 1")
        try check(idleTimeoutMs >= 0, "idle_timeout_ms", idleTimeoutMs, "≥ 0 (0: never)")
    }
}
