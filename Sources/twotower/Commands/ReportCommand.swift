import ArgumentParser
import Foundation
import Pipeline

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

    @OptionGroup var source: StoreOption
    @OptionGroup var trained: ModelOption

    @Option(help: "The index directory (omit for a report without the index charts).")
    var index: String?

    @Option(name: .customLong("split-name"), help: "The split whose test part is evaluated (default: the model's).")
    var splitName: String?

    @Option(help: "nprobe values for the sweep, comma-separated (default: powers of two up to nlist, at most 256).")
    var nprobe: String?

    @Option(name: .customLong("default-nprobe"), parsing: .unconditional, help: "nprobe for the through-the-index Recall@K curve (default: the index's calibrated one).")
    var defaultNprobe: Int?

    @Option(parsing: .unconditional, help: "Test users used as ANN queries.")
    var queries = 1_000

    @Option(help: "The HTML file to write.")
    var out = "report.html"

    func validate() throws {
        if let nprobe { _ = try parseList(nprobe, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer") }
        if let defaultNprobe { try check(defaultNprobe, atLeast: 1, "--default-nprobe") }
        try check(queries, atLeast: 1, "--queries")
    }

    func run() throws {
        var job = ReportJob(store: source.store, model: trained.model, index: index, out: out)
        job.splitName = splitName
        job.nprobes = try nprobe.map { try parseList($0, option: "--nprobe", as: Int.self, where: { $0 >= 1 }, expected: "a positive integer") }
        job.defaultNprobe = defaultNprobe
        job.queries = queries
        let printer = ProgressPrinter()
        let bytes = try job.run { printer.status($0) }
        printer.status("done", finished: true)
        print("Wrote \(out) (\(Format.count(bytes)) bytes)")
    }
}
