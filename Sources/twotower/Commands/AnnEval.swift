import ArgumentParser
import Foundation
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

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let probes = try nprobe.split(separator: ",").map { text -> Int in
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw ValidationError("--nprobe: '\(text)' is not a positive integer")
            }
            return n
        }
        let opened = try IVFIndex(path: index)
        let q = try VectorFile.readMatrix(queries)
        guard q.cols == opened.dimension else {
            throw VectorIndex.IndexError.dimensionMismatch(expected: opened.dimension, got: q.cols, what: queries)
        }
        let printer = ProgressPrinter()
        printer.status("exact search for \(q.rows) queries over \(opened.metadata.count) vectors…")
        let truth = try ANNEvaluation.groundTruth(index: opened, queries: q)
        let points = try ANNEvaluation.sweep(index: opened, queries: q, truth: truth, nprobes: probes, minSeconds: minSeconds) { p in
            printer.status("nprobe \(p.nprobe): recall@10 \(String(format: "%.3f", p.recallAt10)), \(Int(p.qps)) q/s")
        }
        printer.status("done", finished: true)
        if json {
            print(try jsonText(points))
        } else {
            print(Format.table([["nprobe", "recall@10", "recall@100", "queries/s (1 thread)"]] + points.map {
                ["\($0.nprobe)", String(format: "%.4f", $0.recallAt10), String(format: "%.4f", $0.recallAt100), Format.count(Int($0.qps))]
            }))
        }
    }
}
