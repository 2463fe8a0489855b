import ArgumentParser
import Foundation
import Pipeline

struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Batch top-K for many users through the model and the index, written as user,rank,item,score rows.",
        discussion: """
            Each user is answered as the daemon would answer them now: the user tower on their \
            current features and latest history from the store, their seen items left out (unless \
            --include-seen), through the index at its calibrated setting (or --nprobe). Users: all \
            of the store's (the default), or the raw ids in --users-file, one per line; --shard I/S \
            keeps those whose raw id hashes to shard I of S (as `embed --shard` does for items). \
            Rows go to --out as CSV (a header line, then user,rank,item,score) or JSON lines; the \
            file is written beside and renamed over --out when complete. Users the model cannot \
            embed are counted, not written. --index takes one index or a shard set's manifest \
            (`twotower publish-shards`): each user's top k is then merged from every shard.
            """
    )

    @OptionGroup var store: StoreOption
    @OptionGroup var model: ModelOption
    @OptionGroup var target: IndexOption

    @Option(name: .customLong("users-file"), help: "Raw user ids, one per line (default: every user of the store).")
    var usersFile: String?

    @Option(help: "Only users whose raw id hashes to shard I of S, e.g. 0/4.")
    var shard: String?

    @Option(parsing: .unconditional, help: "Items per user.")
    var k = 10

    @Option(parsing: .unconditional, help: "Lists probed (default: the index's calibrated nprobe).")
    var nprobe: Int?

    @Option(name: .customLong("rerank-factor"), parsing: .unconditional, help: "SQ8/PQ4 candidates re-ranked, as a multiple of k (default: the index's calibrated one).")
    var rerankFactor: Int?

    @Flag(name: .customLong("include-seen"), help: "Keep the items a user has already interacted with.")
    var includeSeen = false

    @Option(help: "Output format: csv or jsonl.")
    var format = "csv"

    @Option(help: "The file to write, or - for standard output.")
    var out: String

    @Option(parsing: .unconditional, help: "Threads (default: every core; 1 for a one-core executor).")
    var threads: Int?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        try check(k, atLeast: 1, "--k")
        if let nprobe { try check(nprobe, atLeast: 1, "--nprobe") }
        if let rerankFactor { try check(rerankFactor, atLeast: 1, "--rerank-factor") }
        if let threads { try check(threads, atLeast: 1, "--threads") }
        guard RecommendJob.Output(rawValue: format) != nil else { throw ValidationError("--format is csv or jsonl, not '\(format)'") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") }
        }
    }

    func run() throws {
        var job = RecommendJob(store: store.store, model: model.model, index: target.index, out: out)
        job.users = usersFile.map { .file($0) } ?? .all
        job.shard = try shard.map { try Shard(parsing: $0) }
        job.k = k
        job.nprobe = nprobe
        job.rerankFactor = rerankFactor
        job.excludeSeen = !includeSeen
        if let threads { job.threads = threads }
        job.format = RecommendJob.Output(rawValue: format)!
        let printer = ProgressPrinter()
        let summary = try job.run { printer.status($0) }
        printer.status("done", finished: true)
        // With --out -, the rows are standard output: the summary goes to standard error.
        let report = output.json ? try jsonText(summary)
            : "Wrote \(out == "-" ? "standard output" : out): \(Format.count(summary.rows)) rows for \(Format.count(summary.users)) users"
                + (job.shard.map { " (shard \($0))" } ?? "") + (summary.shards > 1 ? " through \(summary.shards) index shards" : "") + " at nprobe \(summary.nprobe), re-rank \(summary.rerankFactor)·k"
                + (summary.cold > 0 ? "; \(Format.count(summary.cold)) users the model cannot embed" : "")
                + (summary.unknown > 0 ? "; \(Format.count(summary.unknown)) ids not in the store" : "")
                + String(format: "; %.1f s", summary.seconds)
        if out == "-" { FileHandle.standardError.write(Data((report + "\n").utf8)) } else { print(report) }
    }
}
