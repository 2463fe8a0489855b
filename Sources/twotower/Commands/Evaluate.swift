import ModelStore
import ArgumentParser
import Evaluation
import Foundation
import Model
import Store
import VectorIndex

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact full-ranking evaluation (Recall, NDCG, HitRate, MRR, Precision at K) of a split.",
        discussion: """
            As ../shared/EVAL.md: for every user with a held-out item, every item is scored, the \
            user's training items are removed, and the top K are compared with the held-out items; \
            metrics are averaged over those users. --json prints {"recall@20":…, "ndcg@20":…, \
            "hitrate@10":…, …, "users":…}.
            Models: `popularity` (items by training count), a model directory from `twotower train`, \
            or `embeddings`: user and item embeddings as float32 .npy files whose row r is the \
            store's dense user / item id r.
            """
    )

    @Option(help: "The SQLite store.")
    var store: String

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

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let opened = try InteractionStore(path: store, create: false)
        guard let part = SplitPart.allCases.first(where: { $0.name == split }), part != .train else {
            throw ValidationError("--split must be test or validation, not '\(split)'")
        }
        let names = try opened.splitNames()
        guard let name = try splitName ?? (names.count == 1 ? names[0] : nil) ?? trainedSplit(among: names) else {
            throw ValidationError("the store has splits \(names.joined(separator: ", ")); choose one with --split-name")
        }
        let ks = try parseList(k, option: "--k", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer")
        let data = try EvaluationData.load(store: opened, split: name, part: part)
        let started = Date()
        let metrics: RankingMetrics
        switch model {
        case "popularity":
            metrics = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: ks)
        case "embeddings":
            guard let userEmbeddings, let itemEmbeddings else {
                throw ValidationError("--model embeddings needs --user-embeddings and --item-embeddings")
            }
            let users = try VectorFile.readMatrix(userEmbeddings), items = try VectorFile.readMatrix(itemEmbeddings)
            guard users.rows == data.userCount, items.rows == data.itemCount, users.cols == items.cols else {
                throw ValidationError("embeddings are \(users.rows)×\(users.cols) and \(items.rows)×\(items.cols); the store has \(data.userCount) users and \(data.itemCount) items")
            }
            metrics = FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: items), data: data, ks: ks)
        default:
            guard FileManager.default.fileExists(atPath: model) else {
                throw ValidationError("--model '\(model)' is not popularity, embeddings, or a model directory")
            }
            let loaded = try LoadedModel.load(model, store: opened, split: name, histories: data.masked)
            guard loaded.userCount == data.userCount, loaded.itemCount == data.itemCount else {
                throw ValidationError("the model has \(loaded.userCount) users and \(loaded.itemCount) items; the store has \(data.userCount) and \(data.itemCount)")
            }
            metrics = FullRankingEvaluator.evaluate(EmbeddingScorer(users: loaded.userEmbeddings(), items: loaded.itemEmbeddings()), data: data, ks: ks)
        }
        let seconds = Date().timeIntervalSince(started)
        if splitName == nil && names.count > 1 { FileHandle.standardError.write(Data("evaluating split '\(name)', the one the model was trained on\n".utf8)) }
        if json {
            print(try jsonText(metrics))
        } else {
            var rows = [["K", "recall", "ndcg", "hitrate", "mrr", "precision"]]
            for kk in ks {
                rows.append(["\(kk)"] + ["recall", "ndcg", "hitrate", "mrr", "precision"].map { String(format: "%.4f", metrics["\($0)@\(kk)"] ?? 0) })
            }
            print("\(model) on split '\(name)' (\(part.name)), \(Format.count(metrics.users)) users, \(String(format: "%.2f", seconds)) s")
            print(Format.table(rows))
        }
    }

    /// The split a model directory's checkpoint names, when the store has it: the split whose
    /// test part the model never saw in training.
    private func trainedSplit(among names: [String]) throws -> String? {
        guard !["popularity", "embeddings"].contains(model), FileManager.default.fileExists(atPath: model) else { return nil }
        let trained = try Checkpoint.info(in: model).split
        return names.contains(trained) ? trained : nil
    }
}
