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

    func validate() throws {
        if let port { try check(port, in: 0...65_535, "--port") }
    }

    func run() async throws {
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
}
