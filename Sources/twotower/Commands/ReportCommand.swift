import ArgumentParser
import Evaluation
import Foundation
import LinearAlgebra
import Model
import ModelStore
import Report
import Store
import VectorIndex

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report (inline SVG, opens from disk) on a model, its index and its data.",
        discussion: """
            Charts: training loss and validation Recall@20 by epoch (from the store's run record), \
            ANN recall@10 against single-thread queries/s over an nprobe sweep with exact search \
            marked, Recall@K for K = 1…100 exact vs through the index vs popularity on the test \
            part, and interactions per user and per item; then the training configuration. \
            Check the rendering with scripts/render-report.sh (headless Chromium to PNG).
            """
    )

    @Option(help: "The SQLite store.")
    var store: String

    @Option(help: "The model directory.")
    var model: String

    @Option(help: "The index directory (omit for a report without the index charts).")
    var index: String?

    @Option(name: .customLong("split-name"), help: "The split whose test part is evaluated (default: the model's).")
    var splitName: String?

    @Option(help: "nprobe values for the sweep, comma-separated (default: powers of two up to nlist, at most 256).")
    var nprobe: String?

    @Option(name: .customLong("default-nprobe"), help: "nprobe for the through-the-index Recall@K curve.")
    var defaultNprobe = 8

    @Option(help: "Test users used as ANN queries.")
    var queries = 1_000

    @Option(help: "The HTML file to write.")
    var out = "report.html"

    func run() throws {
        let printer = ProgressPrinter()
        let opened = try InteractionStore(path: store, create: false)
        let loaded = try LoadedModel.load(model, store: opened, split: splitName)
        let split = splitName ?? loaded.info.split
        let test = try EvaluationData.load(store: opened, split: split, part: .test)
        guard !test.evaluatedUsers.isEmpty else { throw ValidationError("split '\(split)' has no test interactions to evaluate") }
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
        printer.status("embedding users and items…")
        let users = loaded.userEmbeddings(), items = loaded.itemEmbeddings()
        let ks = Array(1...100)
        printer.status("exact Recall@1…100…")
        let exact = FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: items), data: test, ks: ks)
        let popularity = FullRankingEvaluator.evaluate(PopularityScorer(data: test), data: test, ks: ks)
        data.recallAtK = [("exact", ks.map { exact["recall@\($0)"] ?? 0 })]
        var through: RankingMetrics?
        var annAtDefault: ReportData.ANNPoint?
        if let index {
            let ivf = try IVFIndex(path: index)
            let probes = try nprobe.map { try parseList($0, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer") }
                ?? stride(from: 0, through: 8, by: 1).map { 1 << $0 }.filter { $0 <= ivf.metadata.nlist }
            let chosen = min(defaultNprobe, ivf.metadata.nlist)
            printer.status("Recall@1…100 through the index at nprobe \(chosen)…")
            through = try evaluateThroughIndex(ivf, users: users, data: test, nprobe: chosen, ks: ks)
            data.recallAtK.append(("index (nprobe \(chosen))", ks.map { through!["recall@\($0)"] ?? 0 }))
            let queryUsers = Array(test.evaluatedUsers.prefix(queries))
            let q = Matrix(rows: queryUsers.count, cols: users.cols, values: queryUsers.flatMap { Array(users.row($0)) })
            printer.status("exact neighbours of \(queryUsers.count) queries…")
            // The index's vectors are read once, for the ground truth and the exact-search speed.
            let (base, ids) = try ivf.allVectors()
            let truth = ANNEvaluation.groundTruth(base: base, ids: ids, queries: q, metric: ivf.metadata.metric)
            let points = try ANNEvaluation.sweep(index: ivf, queries: q, truth: truth, nprobes: probes.sorted(), minSeconds: 0.3) { p in
                printer.status("nprobe \(p.nprobe): recall@10 \(String(format: "%.3f", p.recallAt10))")
            }
            data.ann = points.map { ReportData.ANNPoint(nprobe: $0.nprobe, recall: $0.recallAt10, qps: $0.qps) }
            annAtDefault = data.ann.last { $0.nprobe <= chosen }
            data.exactQPS = exactQueriesPerSecond(base: base, ids: ids, metric: ivf.metadata.metric, queries: q)
        }
        data.recallAtK.append(("popularity", ks.map { popularity["recall@\($0)"] ?? 0 }))
        printer.status("done", finished: true)
        func f(_ m: RankingMetrics?, _ key: String) -> String { m.map { String(format: "%.4f", $0[key] ?? 0) } ?? "—" }
        data.summary = [
            ("data", "\(Format.count(loaded.userCount)) users, \(Format.count(loaded.itemCount)) items, \(Format.count(data.interactionsPerUser.reduce(0, +))) interactions"),
            ("model", "d = \(loaded.model.dimension), \(loaded.info.epochs) epochs, best validation Recall@20 \(loaded.info.validation.map { String(format: "%.4f", $0) } ?? "—")"),
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
        guard rename(temporary, out) == 0 else { throw ValidationError("cannot write \(out): \(String(cString: strerror(errno)))") }
        print("Wrote \(out) (\(Format.count(html.utf8.count)) bytes)")
    }

    /// Single-thread exact search speed over the index's vectors, one query at a time.
    func exactQueriesPerSecond(base: Matrix, ids: [Int64], metric: Metric, queries: Matrix) -> Double {
        let n = min(queries.rows, 50)
        let saved = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = saved }
        let started = Date()
        for r in 0..<n {
            _ = ExactSearch.search(queries: Matrix(rows: 1, cols: queries.cols, values: Array(queries.row(r))), base: base, ids: ids,
                                   k: 10, metric: metric)
        }
        return Double(n) / max(Date().timeIntervalSince(started), 1e-9)
    }
}
