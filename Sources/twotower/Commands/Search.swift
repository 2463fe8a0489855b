import ArgumentParser
import Foundation
import Pipeline

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query an index: the top k for a vector, an item, or a user through a model.",
        discussion: """
            Give exactly one query: --vector, --query-file with --row, --item (a raw item id, with \
            --store), --item-row (an index id: the row number for an index built from `embed \
            --items`), or --user (a raw user id, with --model and --store: the user's embedding, \
            their known items excluded). With --store every id printed and every --exclude id is a \
            raw id, as over HTTP; without one, the index's ids. nprobe defaults to the index's \
            calibrated setting.
            """
    )

    @OptionGroup var target: IndexOption

    @Option(help: "A query vector as comma-separated numbers.")
    var vector: String?

    @Option(name: .customLong("query-file"), help: "A .npy/.fvecs file of query vectors…")
    var queryFile: String?

    @Option(parsing: .unconditional, help: "…and the row of it to use (from 0).")
    var row = 0

    @Option(help: "The neighbours of this item (its raw id; needs --store).")
    var item: String?

    @Option(name: .customLong("item-row"), parsing: .unconditional, help: "The neighbours of the vector stored under this index id.")
    var itemRow: Int64?

    @Option(help: "A user's raw id (with --model and --store).")
    var user: String?

    @Option(help: "The model directory, for --user.")
    var model: String?

    @OptionGroup var names: OptionalStoreOption

    @Option(parsing: .unconditional, help: "Results wanted, 1…10000.")
    var k = 10

    @Option(parsing: .unconditional, help: "Lists to probe (default: the index's calibrated nprobe).")
    var nprobe: Int?

    @Option(help: "Comma-separated ids never to return (raw ids with --store).")
    var exclude: String?

    @OptionGroup var output: JSONFlag

    func validate() throws {
        let given = [vector != nil, queryFile != nil, item != nil, itemRow != nil, user != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --vector, --query-file, --item, --item-row, --user") }
        if user != nil && (model == nil || names.store == nil) { throw ValidationError("--user needs --model and --store") }
        if item != nil && names.store == nil { throw ValidationError("--item takes a raw item id and needs --store (or give --item-row with an index id)") }
        try check(k, in: 1...10_000, "--k")
        if let nprobe { try check(nprobe, atLeast: 1, "--nprobe") }
        try check(row, atLeast: 0, "--row")
    }

    func run() throws {
        let query: SearchJob.Query
        if let user { query = .user(user) }
        else if let item { query = .item(item) }
        else if let itemRow { query = .indexID(itemRow) }
        else if let vector { query = .vector(try parseList(vector, option: "--vector", as: Float.self)) }
        else { query = .fileRow(path: queryFile!, row: row) }
        var job = SearchJob(index: target.index, query: query)
        job.store = names.store
        job.model = model
        job.k = k
        job.nprobe = nprobe
        job.exclude = exclude.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        let outcome = try job.run()
        if !outcome.unnamed.isEmpty {
            warn("skipped index ids with no item in the store: \(outcome.unnamed.map(String.init).joined(separator: ", "))")
        }
        if output.json {
            print(try jsonText(outcome.rows))
        } else {
            print(Format.table([["rank", "id", "score"]] + outcome.rows.enumerated().map { ["\($0.offset + 1)", $0.element.id, String(format: "%.5f", $0.element.score)] }))
        }
    }
}
