import ModelStore
import ArgumentParser
import Evaluation
import Foundation
import Model
import Store
import VectorIndex

struct AnnEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann-eval",
        abstract: "Measure ANN recall@10/@100 against exact search and single-thread QPS over nprobe.",
        discussion: """
            Ground truth is exact brute force over the vectors stored in the index. For each nprobe: \
            recall@10 and recall@100 (|ANN top-K ∩ exact top-K| / K, averaged over queries) and \
            queries/s on one thread, one query at a time, k = 10, repeated for at least --min-seconds \
            (as ../shared/peers/ann_peer.py measures FAISS). --json prints \
            [{"nprobe":…,"recall@10":…,"recall@100":…,"qps":…},…].
            With --store and --model (an index built from that model's `embed --items`, ids = dense \
            item ids), each point also gives end-to-end Recall@20 and NDCG@20 of the split's test \
            users through the index (training items excluded by the index's filter) next to exact \
            full ranking: "e2e_recall@20", "exact_recall@20", "e2e_ndcg@20", "exact_ndcg@20".
            """
    )

    @Option(help: "The index directory (or a version directory).")
    var index: String

    @Option(help: "Query vectors: float32 .npy or .fvecs.")
    var queries: String

    @Option(help: "Comma-separated nprobe values.")
    var nprobe = "1,2,4,8,16,32,64"

    @Option(name: .customLong("min-seconds"), help: "Minimum timed work per nprobe.")
    var minSeconds = 1.0

    @Option(name: .customLong("rerank-factor"), help: "SQ8 indexes: candidates re-ranked with full-precision vectors, as a multiple of k.")
    var rerankFactor = SearchParameters().rerankFactor

    @Option(help: "For end-to-end figures: the store…")
    var store: String?

    @Option(help: "…the model directory whose item embeddings the index holds…")
    var model: String?

    @Option(name: .customLong("split-name"), help: "…and the split whose test part is evaluated (default: the model's).")
    var splitName: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Point: Encodable {
        var base: ANNPoint
        var endToEnd: [String: Double]

        func encode(to encoder: Encoder) throws {
            try base.encode(to: encoder)
            var c = encoder.container(keyedBy: RankingMetrics.DynamicKey.self)
            for (k, v) in endToEnd { try c.encode(v, forKey: RankingMetrics.DynamicKey(k)) }
        }
    }

    func run() throws {
        let probes = try parseList(nprobe, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer")
        guard rerankFactor >= 1 else { throw ValidationError("--rerank-factor must be at least 1, not \(rerankFactor)") }
        let opened = try IVFIndex(path: index)
        let q = try VectorFile.readMatrix(queries)
        guard q.cols == opened.dimension else {
            throw VectorIndex.IndexError.dimensionMismatch(expected: opened.dimension, got: q.cols, what: queries)
        }
        let printer = ProgressPrinter()
        printer.status("exact search for \(q.rows) queries over \(opened.metadata.count) vectors…")
        let truth = try ANNEvaluation.groundTruth(index: opened, queries: q)
        let points = try ANNEvaluation.sweep(index: opened, queries: q, truth: truth, nprobes: probes, minSeconds: minSeconds,
                                                 rerankFactor: rerankFactor) { p in
            printer.status("nprobe \(p.nprobe): recall@10 \(String(format: "%.3f", p.recallAt10)), \(Int(p.qps)) q/s")
        }
        var endToEnd = [[String: Double]](repeating: [:], count: points.count)
        if store != nil || model != nil {
            guard let store, let model else { throw ValidationError("end-to-end figures need both --store and --model") }
            let storeHandle = try InteractionStore(path: store, create: false)
            let loaded = try LoadedModel.load(model, store: storeHandle, split: splitName)
            let data = try EvaluationData.load(store: storeHandle, split: splitName ?? loaded.info.split, part: .test)
            let users = loaded.userEmbeddings()
            let exact = FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: loaded.itemEmbeddings()), data: data, ks: [20])
            for (i, point) in points.enumerated() {
                printer.status("end to end at nprobe \(point.nprobe)…")
                let through = try evaluateThroughIndex(opened, users: users, data: data, nprobe: point.nprobe, ks: [20])
                endToEnd[i] = ["e2e_recall@20": through["recall@20"] ?? 0, "exact_recall@20": exact["recall@20"] ?? 0,
                               "e2e_ndcg@20": through["ndcg@20"] ?? 0, "exact_ndcg@20": exact["ndcg@20"] ?? 0]
            }
        }
        printer.status("done", finished: true)
        if json {
            print(try jsonText(zip(points, endToEnd).map { Point(base: $0, endToEnd: $1) }))
        } else {
            let e2e = endToEnd.first?.isEmpty == false
            print(Format.table([["nprobe", "recall@10", "recall@100", "queries/s (1 thread)"] + (e2e ? ["Recall@20 index / exact", "NDCG@20 index / exact"] : [])]
                + zip(points, endToEnd).map { p, e in
                    ["\(p.nprobe)", String(format: "%.4f", p.recallAt10), String(format: "%.4f", p.recallAt100), Format.count(Int(p.qps))]
                        + (e2e ? [String(format: "%.4f / %.4f", e["e2e_recall@20"]!, e["exact_recall@20"]!),
                                  String(format: "%.4f / %.4f", e["e2e_ndcg@20"]!, e["exact_ndcg@20"]!)] : [])
                }))
        }
    }
}
