import ArgumentParser
import Foundation
import Serving
import Settings

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the query daemon: top-K items over HTTP from the user tower and the IVF index.",
        discussion: """
            Serves GET /v1/users/{id}/recommendations, POST /v1/recommendations (cold start), \
            GET /v1/items/{id}/similar, PUT and DELETE /v1/items/{id} and POST /v1/admin/reload \
            (bearer token from the variable named by admin_token_env), /healthz, /readyz and \
            /metrics (Prometheus). Ids in paths are percent-decoded. The API is in docs/openapi.json \
            and the README.
            Settings come from --config (Config/serve.json, or the built-in defaults when it is \
            absent), then TWOTOWER_HOST, TWOTOWER_PORT, TWOTOWER_STORE, TWOTOWER_MODEL and \
            TWOTOWER_INDEX, then the flags below.
            SIGHUP (or POST /v1/admin/reload) loads the model checkpoint and the index's current \
            version again without failing a request; SIGTERM drains in-flight requests and exits 0.
            With --shards URL,URL,… it runs as a router instead: no index of its own, the user tower \
            run once per request and the vector sent to every shard daemon's POST /v1/search; the \
            answers are merged by score, and a shard that fails or passes --shard-timeout-ms is left \
            out of that answer, which says so ("partial": true, "missing_shards"). The router also \
            takes POST /v1/events (the events token) into its own event log beside the store, in its \
            users' next answers.
            """
    )

    @Option(help: "Daemon configuration (JSON).")
    var config: String?

    @Option(help: "The SQLite store (ids, features, histories).")
    var store: String?

    @Option(help: "The model directory (checkpoint from `twotower train`).")
    var model: String?

    @Option(help: "The index directory (from `twotower build-index`).")
    var index: String?

    @Option(help: "Address to bind.")
    var host: String?

    @Option(parsing: .unconditional, help: "Port to bind, 0…65535 (0: any free port, printed at start).")
    var port: Int?

    @Option(help: "Router mode: the shard daemons' base URLs, comma-separated (http://127.0.0.1:8081,…).")
    var shards: String?

    @Option(name: .customLong("shard-timeout-ms"), parsing: .unconditional, help: "Router mode: how long a shard may take before its part is left out.")
    var shardTimeoutMs = 200

    func validate() throws {
        if let port { try check(port, in: 0...65_535, "--port") }
        try check(shardTimeoutMs, atLeast: 1, "--shard-timeout-ms")
        if shards != nil && index != nil { throw ValidationError("a router (--shards) has no index of its own: drop --index") }
    }

    func run() async throws {
        if let shards { return try await runRouter(shards: shards.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) }
        var overrides = ServingOptions.Overrides()
        overrides.store = store
        overrides.model = model
        overrides.index = index
        overrides.host = host
        overrides.port = port
        let options = try ServingOptions(config: try loadConfig(ServingConfig.self, explicit: config, fallback: "Config/serve.json"),
                                         environment: ProcessInfo.processInfo.environment, overrides: overrides)
        let service = try RecommendationService(options: options)
        let snapshot = service.snapshot
        try await Daemon(service: service).run { port in
            print("twotower serve: listening on http://\(options.host):\(port)  model \(snapshot.modelVersion)  index \(snapshot.indexVersion)"
                  + "  (\(options.workerThreads) workers, queue \(options.queueLimit)"
                  + (options.adminToken == nil ? "; admin routes off: $\(options.adminTokenEnv) is unset" : "")
                  + (options.eventsToken == nil ? "; POST /v1/events off: $\(options.eventsTokenEnv) is unset" : "") + ")")
        }
        print("twotower serve: drained, exiting")
    }

    private func runRouter(shards: [String]) async throws {
        let environment = ProcessInfo.processInfo.environment
        let config = try loadConfig(ServingConfig.self, explicit: config, fallback: "Config/serve.json")
        var options = ShardRouter.Options(storePath: store ?? environment["TWOTOWER_STORE"] ?? config.store,
                                          modelPath: model ?? environment["TWOTOWER_MODEL"] ?? config.model, shards: shards)
        options.host = host ?? environment["TWOTOWER_HOST"] ?? config.host
        options.port = port ?? environment["TWOTOWER_PORT"].flatMap { Int($0) } ?? config.port
        options.shardTimeout = .milliseconds(shardTimeoutMs)
        options.defaultK = config.defaultK
        options.workerThreads = config.workerThreads > 0 ? config.workerThreads : ProcessInfo.processInfo.activeProcessorCount
        options.eventsToken = environment[config.eventsTokenEnv].flatMap { $0.isEmpty ? nil : $0 }
        options.eventsMergeEvents = config.eventsMergeEvents
        options.eventsMergeInterval = .milliseconds(config.eventsMergeMs)
        let router = try ShardRouter(options: options)
        try await RouterDaemon(router: router).run { port in
            print("twotower serve: routing on http://\(router.options.host):\(port) over \(shards.count) shards  model \(router.modelVersion)")
        }
        print("twotower serve: drained, exiting")
    }
}
