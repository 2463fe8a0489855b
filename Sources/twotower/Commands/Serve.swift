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
            /metrics (Prometheus). The API is in docs/openapi.json and the README.
            Settings come from --config (Config/serve.json), then TWOTOWER_HOST, TWOTOWER_PORT, \
            TWOTOWER_STORE, TWOTOWER_MODEL and TWOTOWER_INDEX, then the flags below.
            SIGHUP (or POST /v1/admin/reload) loads the model checkpoint and the index's current \
            version again without failing a request; SIGTERM drains in-flight requests and exits 0.
            """
    )

    @Option(help: "Daemon configuration (JSON).")
    var config = "Config/serve.json"

    @Option(help: "The SQLite store (ids, features, histories).")
    var store: String?

    @Option(help: "The model directory (checkpoint from `twotower train`).")
    var model: String?

    @Option(help: "The index directory (from `twotower build-index`).")
    var index: String?

    @Option(help: "Address to bind.")
    var host: String?

    @Option(help: "Port to bind (0: any free port, printed at start).")
    var port: Int?

    func run() async throws {
        var c = try ConfigLoader.load(ServingConfig.self, from: config)
        let environment = ProcessInfo.processInfo.environment
        if let v = environment["TWOTOWER_HOST"] { c.host = v }
        if let v = environment["TWOTOWER_PORT"] {
            guard let p = Int(v) else { throw ValidationError("TWOTOWER_PORT='\(v)' is not a port number") }
            c.port = p
        }
        if let v = environment["TWOTOWER_STORE"] { c.store = v }
        if let v = environment["TWOTOWER_MODEL"] { c.model = v }
        if let v = environment["TWOTOWER_INDEX"] { c.index = v }
        try c.validate()
        var options = ServingOptions(storePath: store ?? c.store, modelPath: model ?? c.model, indexPath: index ?? c.index)
        options.host = host ?? c.host
        options.port = port ?? c.port
        options.defaultK = c.defaultK
        options.defaultNprobe = c.defaultNprobe
        options.rerankFactor = c.rerankFactor
        options.workerThreads = c.workerThreads > 0 ? c.workerThreads : ProcessInfo.processInfo.activeProcessorCount
        options.queueLimit = c.queueLimit
        options.requestTimeout = .milliseconds(c.requestTimeoutMs)
        options.adminToken = environment[c.adminTokenEnv]
        let service = try RecommendationService(options: options)
        let snapshot = service.snapshot
        let daemon = Daemon(service: service)
        let (shown, tokenEnv) = (options, c.adminTokenEnv)
        try await daemon.run { port in
            let options = shown, c = (adminTokenEnv: tokenEnv, 0)
            print("twotower serve: listening on http://\(options.host):\(port)  model \(snapshot.modelVersion)  index \(snapshot.indexVersion)"
                  + "  (\(options.workerThreads) workers, queue \(options.queueLimit)"
                  + (options.adminToken == nil ? "; admin routes off: $\(c.adminTokenEnv) is unset)" : ")"))
        }
        print("twotower serve: drained, exiting")
    }
}
