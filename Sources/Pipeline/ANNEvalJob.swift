import Evaluation
import Foundation
import ModelStore
import Store
import VectorIndex

/// `twotower ann-eval`: recall against exact search and single-thread speed over an nprobe
/// sweep, and optionally end-to-end Recall/NDCG@20 through the index beside exact ranking.
public struct ANNEvalJob {
    public var index: String
    public var queries: String
    /// The nprobe values to sweep; nil: the index's calibrated (or default) nprobe alone.
    public var nprobes: [Int]?
    public var minSeconds = 1.0
    /// nil: the index's calibrated (or default) re-rank factor.
    public var rerankFactor: Int?
    /// For end-to-end figures: the store, the model whose item embeddings the index holds, the split.
    public var store: String?
    public var model: String?
    public var splitName: String?

    public init(index: String, queries: String, nprobes: [Int]? = nil) {
        self.index = index
        self.queries = queries
        self.nprobes = nprobes
    }

    /// One point: the ANN figures, and the end-to-end ones when asked for.
    public struct Point: Encodable, Sendable {
        public var base: ANNPoint
        public var endToEnd: [String: Double]

        public func encode(to encoder: Encoder) throws {
            try base.encode(to: encoder)
            var c = encoder.container(keyedBy: RankingMetrics.DynamicKey.self)
            for (k, v) in endToEnd.sorted(by: { $0.key < $1.key }) { try c.encode(v, forKey: RankingMetrics.DynamicKey(k)) }
        }
    }

    public func run(progress: ((String) -> Void)? = nil) throws -> [Point] {
        guard (store == nil) == (model == nil) else { throw JobError("end-to-end figures need both --store and --model") }
        let opened = try IVFIndex(path: index)
        let nprobes = self.nprobes ?? [opened.metadata.defaultNprobe]
        let rerankFactor = self.rerankFactor ?? opened.metadata.defaultRerankFactor
        guard rerankFactor >= 1 else { throw JobError("--rerank-factor must be at least 1, not \(rerankFactor)") }
        let q = try VectorFile.readMatrix(queries)
        guard q.cols == opened.dimension else {
            throw IndexError.dimensionMismatch(expected: opened.dimension, got: q.cols, what: queries)
        }
        progress?("exact search for \(q.rows) queries over \(opened.metadata.count) vectors…")
        let truth = try ANNEvaluation.groundTruth(index: opened, queries: q)
        let points = try ANNEvaluation.sweep(index: opened, queries: q, truth: truth, nprobes: nprobes, minSeconds: minSeconds,
                                             rerankFactor: rerankFactor) { p in
            progress?("nprobe \(p.nprobe): recall@10 \(String(format: "%.3f", p.recallAt10)), \(Int(p.qps)) q/s")
        }
        var endToEnd = [[String: Double]](repeating: [:], count: points.count)
        if let store, let model {
            let storeHandle = try InteractionStore(path: store, create: false)
            let loaded = try LoadedModel.load(model, store: storeHandle, split: splitName)
            let data = try EvaluationData.load(store: storeHandle, split: splitName ?? loaded.info.split, part: .test)
            let users = loaded.userEmbeddings()
            let exact = FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: loaded.itemEmbeddings()), data: data, ks: [20])
            for (i, point) in points.enumerated() {
                progress?("end to end at nprobe \(point.nprobe)…")
                let through = try evaluateThroughIndex(opened, users: users, data: data, nprobe: point.nprobe, rerankFactor: rerankFactor, ks: [20])
                endToEnd[i] = ["e2e_recall@20": through["recall@20"] ?? 0, "exact_recall@20": exact["recall@20"] ?? 0,
                               "e2e_ndcg@20": through["ndcg@20"] ?? 0, "exact_ndcg@20": exact["ndcg@20"] ?? 0]
            }
        }
        return zip(points, endToEnd).map { Point(base: $0, endToEnd: $1) }
    }
}
