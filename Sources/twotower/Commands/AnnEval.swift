import ArgumentParser
import Foundation
import Pipeline

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
            users through the index (known items excluded by the index's filter) next to exact \
            full ranking: "e2e_recall@20", "exact_recall@20", "e2e_ndcg@20", "exact_ndcg@20".
            """
    )

    @OptionGroup var target: IndexOption

    @Option(help: "Query vectors: float32 .npy or .fvecs.")
    var queries: String

    @Option(help: "Comma-separated nprobe values (default: the index's calibrated nprobe).")
    var nprobe: String?

    @Option(name: .customLong("min-seconds"), parsing: .unconditional, help: "Minimum timed work per nprobe.")
    var minSeconds = 1.0

    @Option(name: .customLong("rerank-factor"), parsing: .unconditional, help: "SQ8 and PQ indexes: candidates re-ranked with full-precision vectors, as a multiple of k (default: the index's calibrated one).")
    var rerankFactor: Int?

    @OptionGroup var evaluation: OptionalStoreOption

    @Option(help: "…the model directory whose item embeddings the index holds (with --store, for end-to-end figures)…")
    var model: String?

    @Option(name: .customLong("split-name"), help: "…and the split whose test part is evaluated (default: the model's).")
    var splitName: String?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        if let nprobe { _ = try parseList(nprobe, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer") }
        if let rerankFactor { try check(rerankFactor, atLeast: 1, "--rerank-factor") }
        guard minSeconds >= 0 else { throw ValidationError("--min-seconds must be at least 0, not \(minSeconds)") }
        guard (evaluation.store == nil) == (model == nil) else { throw ValidationError("end-to-end figures need both --store and --model") }
    }

    func run() throws {
        let nprobes = try nprobe.map { try parseList($0, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer") }
        var job = ANNEvalJob(index: target.index, queries: queries, nprobes: nprobes)
        job.minSeconds = minSeconds
        job.rerankFactor = rerankFactor
        job.store = evaluation.store
        job.model = model
        job.splitName = splitName
        let printer = ProgressPrinter()
        let points = try job.run { printer.status($0) }
        printer.status("done", finished: true)
        if output.json {
            print(try jsonText(points))
            return
        }
        let e2e = points.first?.endToEnd.isEmpty == false
        print(Format.table([["nprobe", "recall@10", "recall@100", "queries/s (1 thread)"] + (e2e ? ["Recall@20 index / exact", "NDCG@20 index / exact"] : [])]
            + points.map { p in
                ["\(p.base.nprobe)", String(format: "%.4f", p.base.recallAt10), String(format: "%.4f", p.base.recallAt100), Format.count(Int(p.base.qps))]
                    + (e2e ? [String(format: "%.4f / %.4f", p.endToEnd["e2e_recall@20"]!, p.endToEnd["exact_recall@20"]!),
                              String(format: "%.4f / %.4f", p.endToEnd["e2e_ndcg@20"]!, p.endToEnd["exact_ndcg@20"]!)] : [])
            }))
    }
}
