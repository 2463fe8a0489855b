import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Model
import ModelStore
import Store

/// Router mode (`twotower serve --shards URL,…`): the catalogue lives in shard daemons, each
/// serving its part of the items. The router runs the user tower once (the store's current
/// features and latest history, as a daemon does), sends the vector with the user's seen items
/// to every shard's `POST /v1/search`, and merges the S·k answers by score. A shard that fails
/// or misses the deadline is left out and named: the answer is then marked partial, never an
/// error, and `/metrics` counts it. Events posted to the router (`POST /v1/events`) go to its own
/// event log and are in its users' next answers, as with a daemon.
public final class ShardRouter: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var storePath: String
        public var modelPath: String
        /// Base URLs of the shard daemons (`http://127.0.0.1:8081`).
        public var shards: [String]
        /// How long a shard may take before its part is given up for this request.
        public var shardTimeout = Duration.milliseconds(200)
        public var defaultK = 10
        public var workerThreads = 2
        public var queueLimit = 256
        /// The events bearer token (`POST /v1/events` answers 401 while it is nil), and when the
        /// router's event log is merged into its store, as in the daemon.
        public var eventsToken: String?
        public var eventsMergeEvents = 50_000
        public var eventsMergeInterval = Duration.seconds(5)

        public init(storePath: String, modelPath: String, shards: [String]) {
            self.storePath = storePath
            self.modelPath = modelPath
            self.shards = shards
        }
    }

    public let options: Options
    public let metrics = ServingMetrics()
    let model: TwoTowerModel
    public let modelVersion: String
    let pool: WorkerPool
    let stores: StorePool
    /// The writer of `POST /v1/events` sent to the router: its users' next answers see them.
    let events: EventWriter
    private let session: URLSession

    public init(options: Options) throws {
        guard !options.shards.isEmpty else { throw SnapshotError(message: "router mode needs at least one shard URL") }
        for s in options.shards where URL(string: s)?.host == nil {
            throw SnapshotError(message: "'\(s)' is not a shard URL (http://host:port)")
        }
        self.options = options
        let (model, _, version) = try Checkpoint.loadFingerprinted(from: options.modelPath)
        self.model = model
        modelVersion = version
        stores = try StorePool(path: options.storePath)
        pool = WorkerPool(threads: options.workerThreads, queueLimit: options.queueLimit)
        events = try EventWriter(storePath: options.storePath, mergeEvents: options.eventsMergeEvents,
                                 mergeInterval: options.eventsMergeInterval, metrics: metrics)
        // The deadline is enforced per request by `recommend` (URLSession's own timeouts on Linux
        // are whole seconds); these only bound a connection that hangs past it.
        let configuration = URLSessionConfiguration.ephemeral
        let seconds = (Double(options.shardTimeout.components.seconds) + Double(options.shardTimeout.components.attoseconds) / 1e18).rounded(.up) + 1
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration)
        metrics.served(model: version, index: "shards")
    }

    /// One merged answer: the top k over every shard that answered, and the shards that did not.
    public struct Answer: Sendable {
        public var items: [ScoredItem]
        public var missing: [String]
    }

    /// The user's top k across the shards.
    public func recommend(user raw: String, k: Int, nprobe: Int?, excludeSeen: Bool) async throws -> Answer {
        let model = self.model
        let (vector, seen) = try await pool.run(deadline: .now + .seconds(1)) { [stores, events] in
            try stores.with { store -> ([Float], [String]) in
                let (dense, recent) = try Recommender.user(raw, store: store, pending: events.pending)
                let vector = try Recommender.userVector(store: store, model: model, dense: dense, pending: recent)
                let seen = excludeSeen ? try Recommender.seenItems(dense: dense, pending: recent, store: store).sorted()
                    .compactMap { try store.rawID(of: .item, dense: Int($0)) } : []
                return (vector, seen)
            }
        }
        let body = try JSONSerialization.data(withJSONObject: ["vector": vector.map(Double.init), "exclude": seen])
        let query = "k=\(k)" + (nprobe.map { "&nprobe=\($0)" } ?? "")
        let parts = await withTaskGroup(of: (Int, [ScoredItem]?).self) { group in
            for (n, shard) in options.shards.enumerated() {
                group.addTask { [session, options] in
                    var post = URLRequest(url: URL(string: "\(shard)/v1/search?\(query)")!)
                    post.httpMethod = "POST"
                    post.httpBody = body
                    post.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    let request = post
                    // The shard's answer or the deadline, whichever comes first.
                    let items = await withTaskGroup(of: [ScoredItem]?.self) { race in
                        race.addTask {
                            guard let (data, response) = try? await session.data(for: request),
                                  (response as? HTTPURLResponse)?.statusCode == 200,
                                  let answer = try? JSONDecoder().decode(ShardAnswer.self, from: data) else { return nil }
                            return answer.items
                        }
                        race.addTask {
                            try? await Task.sleep(for: options.shardTimeout)
                            return nil
                        }
                        let first = await race.next() ?? nil
                        race.cancelAll()
                        return first
                    }
                    return (n, items)
                }
            }
            var out = [[ScoredItem]?](repeating: nil, count: options.shards.count)
            for await (n, items) in group { out[n] = items }
            return out
        }
        var merged: [ScoredItem] = []
        var missing: [String] = []
        for (n, items) in parts.enumerated() {
            if let items { merged += items } else { missing.append(options.shards[n]) }
        }
        if !missing.isEmpty { metrics.partialAnswers.increment() }
        // Best first; equal scores by id, so the merge does not depend on which shard answered first.
        merged.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Answer(items: Array(merged.prefix(k)), missing: missing)
    }

    private struct ShardAnswer: Decodable {
        var items: [ScoredItem]
    }

    public func shutdown() {
        events.stop()
        pool.shutdown()
    }
}
