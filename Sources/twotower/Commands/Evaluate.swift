import ArgumentParser
import Foundation
import Pipeline
import Store

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact full-ranking evaluation (Recall, NDCG, HitRate, MRR, Precision at K) of a split.",
        discussion: """
            As ../shared/EVAL.md: for every user with a held-out item, every item is scored, the \
            items the user is known to have before the held-out part are removed (train, and for \
            the test part also validation), and the top K are compared with the held-out items; \
            metrics are averaged over those users. --json prints {"recall@20":…, "ndcg@20":…, \
            "hitrate@10":…, …, "users":…}.
            Models: `popularity` (items by training count), a model directory from `twotower train`, \
            or `embeddings`: user and item embeddings as float32 .npy files whose row r is the \
            store's dense user / item id r. With --index, each user's top K comes from that index \
            (at its calibrated nprobe unless --nprobe says) instead of exact scoring, so the \
            figures say how much quality survives the index.
            """
    )

    @OptionGroup var source: StoreOption

    @Option(name: .customLong("split-name"), help: "The split to evaluate (see `twotower stats`). Default: the store's only split, else for a model directory the split its model was trained on (the refit split after a refit).")
    var splitName: String?

    @Option(help: "The held-out part: test or validation.")
    var split = "test"

    @Option(help: "popularity, a model directory written by `twotower train`, or `embeddings` with --user-embeddings and --item-embeddings.")
    var model = "popularity"

    @Option(name: .customLong("user-embeddings"), help: "Users × d float32 .npy (row = dense user id).")
    var userEmbeddings: String?

    @Option(name: .customLong("item-embeddings"), help: "Items × d float32 .npy (row = dense item id).")
    var itemEmbeddings: String?

    @Option(help: "Comma-separated cut-offs.")
    var k = "10,20,50"

    @Option(help: "Rank through this index (built from the model's `embed --items`) instead of exactly.")
    var index: String?

    @Option(parsing: .unconditional, help: "With --index: lists probed (default: the index's calibrated nprobe).")
    var nprobe: Int?

    @Option(name: .customLong("rerank-factor"), parsing: .unconditional, help: "With --index: candidates re-ranked, as a multiple of k (default: the calibrated one).")
    var rerankFactor: Int?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        guard ["test", "validation"].contains(split) else { throw ValidationError("--split must be test or validation, not '\(split)'") }
        _ = try parseList(k, option: "--k", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer")
        if let nprobe { try check(nprobe, atLeast: 1, "--nprobe") }
        if let rerankFactor { try check(rerankFactor, atLeast: 1, "--rerank-factor") }
        if index == nil && (nprobe != nil || rerankFactor != nil) { throw ValidationError("--nprobe and --rerank-factor need --index") }
        if model == "embeddings" && (userEmbeddings == nil || itemEmbeddings == nil) {
            throw ValidationError("--model embeddings needs --user-embeddings and --item-embeddings")
        }
    }

    func run() throws {
        let ks = try parseList(k, option: "--k", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer")
        let evaluated: EvaluatedModel
        switch model {
        case "popularity": evaluated = .popularity
        case "embeddings": evaluated = .embeddings(users: userEmbeddings!, items: itemEmbeddings!)
        default:
            guard FileManager.default.fileExists(atPath: model) else {
                throw ValidationError("--model '\(model)' is not popularity, embeddings, or a model directory")
            }
            evaluated = .directory(model)
        }
        var job = EvaluationJob(store: source.store, splitName: splitName, part: split == "test" ? .test : .validation, model: evaluated, ks: ks)
        job.index = index
        job.nprobe = nprobe
        job.rerankFactor = rerankFactor
        let outcome = try job.run()
        if outcome.splitInferred { warn("evaluating split '\(outcome.split)', the one the model was trained on") }
        if output.json {
            print(try jsonText(outcome.metrics))
        } else {
            var rows = [["K", "recall", "ndcg", "hitrate", "mrr", "precision"]]
            for kk in ks {
                rows.append(["\(kk)"] + ["recall", "ndcg", "hitrate", "mrr", "precision"].map { Format.metric(outcome.metrics["\($0)@\(kk)"]) })
            }
            let how = outcome.throughIndex.map { " through the index (nprobe \($0.nprobe), re-rank \($0.rerankFactor)·k)" } ?? ""
            print("\(model)\(how) on split '\(outcome.split)' (\(split)), \(Format.count(outcome.metrics.users)) users, \(String(format: "%.2f", outcome.seconds)) s")
            print(Format.table(rows))
        }
    }
}
