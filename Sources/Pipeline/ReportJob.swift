import Evaluation
import Foundation
import LinearAlgebra
import ModelStore
import Report
import Store
import VectorIndex

/// `twotower report`: one self-contained HTML file on a model, its index and its data.
public struct ReportJob {
    public var store: String
    public var model: String
    public var index: String?
    public var splitName: String?
    /// nil: powers of two up to nlist, at most 256.
    public var nprobes: [Int]?
    /// nil: the index's calibrated nprobe.
    public var defaultNprobe: Int?
    /// Test users used as ANN queries.
    public var queries = 1_000
    public var out = "report.html"

    public init(store: String, model: String, index: String?, out: String) {
        self.store = store
        self.model = model
        self.index = index
        self.out = out
    }

    /// Writes the report; returns its size in bytes.
    @discardableResult
    public func run(progress: ((String) -> Void)? = nil) throws -> Int {
        let opened = try InteractionStore(path: store, create: false)
        let loaded = try LoadedModel.load(model, store: opened, split: splitName)
        let split = splitName ?? loaded.info.split
        let test = try EvaluationData.load(store: opened, split: split, part: .test)
        guard !test.evaluatedUsers.isEmpty else { throw JobError("split '\(split)' has no test interactions to evaluate") }
        var data = ReportData(title: "TwoTower report: \((model as NSString).lastPathComponent) on \((store as NSString).lastPathComponent), split '\(split)'")
        data.interactionsPerUser = try opened.interactionCounts(per: .user)
        data.interactionsPerItem = try opened.interactionCounts(per: .item)
        let runs = RunLog(store: opened)
        if let id = try loaded.info.run ?? runs.latest(kind: "train"), let run = try runs.run(id) {
            struct Row: Decodable { var epoch: Int; var loss: Double; var validation: Double? }
            data.epochs = run.epochs.compactMap { try? JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
                .map { ReportData.Epoch(epoch: $0.epoch, loss: $0.loss, validationRecall: $0.validation) }
            data.configuration = run.config
        } else {
            data.configuration = loaded.info.config
        }
        progress?("embedding users and items…")
        let users = loaded.userEmbeddings(), items = loaded.itemEmbeddings()
        let ks = Array(1...100)
        progress?("exact Recall@1…100…")
        let exact = FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: items), data: test, ks: ks)
        let popularity = FullRankingEvaluator.evaluate(PopularityScorer(data: test), data: test, ks: ks)
        data.recallAtK = [("exact", ks.map { exact["recall@\($0)"] ?? 0 })]
        var through: RankingMetrics?
        var annAtDefault: ReportData.ANNPoint?
        if let index {
            let ivf = try IVFIndex(path: index)
            let probes = nprobes ?? stride(from: 0, through: 8, by: 1).map { 1 << $0 }.filter { $0 <= ivf.metadata.nlist }
            let chosen = min(defaultNprobe ?? ivf.metadata.defaultNprobe, ivf.metadata.nlist)
            progress?("Recall@1…100 through the index at nprobe \(chosen)…")
            through = try evaluateThroughIndex(ivf, users: users, data: test, nprobe: chosen, rerankFactor: ivf.metadata.defaultRerankFactor, ks: ks)
            data.recallAtK.append(("index (nprobe \(chosen))", ks.map { through!["recall@\($0)"] ?? 0 }))
            let queryUsers = Array(test.evaluatedUsers.prefix(queries))
            let q = Matrix(rows: queryUsers.count, cols: users.cols, values: queryUsers.flatMap { Array(users.row($0)) })
            progress?("exact neighbours of \(queryUsers.count) queries…")
            // The index's vectors are read once, for the ground truth and the exact-search speed.
            let (base, ids) = try ivf.allVectors()
            let truth = ANNEvaluation.groundTruth(base: base, ids: ids, queries: q, metric: ivf.metadata.metric)
            let points = try ANNEvaluation.sweep(index: ivf, queries: q, truth: truth, nprobes: probes.sorted(), minSeconds: 0.3,
                                                 rerankFactor: ivf.metadata.defaultRerankFactor) { p in
                progress?("nprobe \(p.nprobe): recall@10 \(String(format: "%.3f", p.recallAt10))")
            }
            data.ann = points.map { ReportData.ANNPoint(nprobe: $0.nprobe, recall: $0.recallAt10, qps: $0.qps) }
            annAtDefault = data.ann.last { $0.nprobe <= chosen }
            data.exactQPS = ExactSearch.queriesPerSecond(base: base, ids: ids, metric: ivf.metadata.metric, queries: q)
        }
        data.recallAtK.append(("popularity", ks.map { popularity["recall@\($0)"] ?? 0 }))
        func f(_ m: RankingMetrics?, _ key: String) -> String { Format.metric(m?[key]) }
        data.summary = [
            ("data", "\(Format.count(loaded.userCount)) users, \(Format.count(loaded.itemCount)) items, \(Format.count(data.interactionsPerUser.reduce(0, +))) interactions"),
            ("model", "d = \(loaded.model.dimension), \(loaded.info.epochs) epochs, best validation Recall@20 \(Format.metric(loaded.info.validation))"),
            ("test users", Format.count(exact.users)),
            ("Recall@20 exact / index / popularity", "\(f(exact, "recall@20")) / \(f(through, "recall@20")) / \(f(popularity, "recall@20"))"),
            ("NDCG@20 exact / index / popularity", "\(f(exact, "ndcg@20")) / \(f(through, "ndcg@20")) / \(f(popularity, "ndcg@20"))"),
        ]
        if let a = annAtDefault {
            data.summary.append(("ANN recall@10 at nprobe \(a.nprobe)", String(format: "%.4f at %@ queries/s (1 thread); exact search %@ queries/s",
                                                                            a.recall, Format.count(Int(a.qps)), Format.count(Int(data.exactQPS ?? 0)))))
        }
        let html = HTMLReport.render(data)
        let temporary = out + ".partial"
        try Data(html.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, out) == 0 else { throw JobError("cannot write \(out): \(String(cString: strerror(errno)))") }
        return html.utf8.count
    }
}
