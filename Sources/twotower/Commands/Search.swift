import ModelStore
import ArgumentParser
import Foundation
import Model
import Store
import VectorIndex

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query an index: top-k ids and scores for a vector or for an indexed item.",
        discussion: """
            Give exactly one of --vector, --query-file with --row, --item, or --user. With --user the \
            query is the user's embedding from --model, the ids returned are the store's raw item ids, \
            and the user's training items (in the model's split) are excluded; the index must hold \
            that model's item embeddings (`twotower embed --items`, ids = dense item ids).
            """
    )

    @Option(help: "The index directory (or a version directory).")
    var index: String

    @Option(help: "A query vector as comma-separated numbers.")
    var vector: String?

    @Option(name: .customLong("query-file"), help: "A .npy/.fvecs file of query vectors…")
    var queryFile: String?

    @Option(help: "…and the row of it to use.")
    var row = 0

    @Option(help: "Search with the stored vector of this id (its neighbours; itself excluded).")
    var item: Int64?

    @Option(help: "A user's raw id (with --model and --store).")
    var user: String?

    @Option(help: "The model directory, for --user.")
    var model: String?

    @Option(help: "The store, for --user.")
    var store: String?

    @Option(help: "Results wanted.")
    var k = 10

    @Option(help: "Lists to probe.")
    var nprobe = 8

    @Option(help: "Comma-separated ids never to return.")
    var exclude: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        let given = [vector != nil, queryFile != nil, item != nil, user != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --vector, --query-file, --item, --user") }
        if user != nil && (model == nil || store == nil) { throw ValidationError("--user needs --model and --store") }
        guard (1...10_000).contains(k) else { throw ValidationError("--k must be in 1…10000, not \(k)") }
        guard nprobe >= 1 else { throw ValidationError("--nprobe must be at least 1, not \(nprobe)") }
    }

    func run() throws {
        let opened = try IVFIndex(path: index)
        var parameters = SearchParameters(k: k, nprobe: nprobe)
        if let exclude {
            parameters.exclude = Set(try parseList(exclude, option: "--exclude", as: Int64.self, expected: "an id"))
        }
        let query: [Float]
        var names: ((Int64) throws -> String)?
        if let user, let model, let store {
            let opened = try InteractionStore(path: store, create: false)
            let loaded = try LoadedModel.load(model, store: opened)
            let info = loaded.info
            guard let dense = try opened.denseID(of: .user, raw: user) else {
                throw ValidationError("no user '\(user)' in \(store)")
            }
            guard dense < loaded.userCount else { throw ValidationError("user '\(user)' is newer than the model \(model)") }
            query = Array(loaded.userEmbeddings().row(dense))
            try opened.forEachInteraction(split: info.split, part: .train) { u, i in
                if u == dense { parameters.exclude.insert(Int64(i)) }
            }
            names = { try opened.rawID(of: .item, dense: Int($0)) ?? "?" }
        } else if let vector {
            query = try parseList(vector, option: "--vector", as: Float.self)
        } else if let queryFile {
            let m = try VectorFile.readMatrix(queryFile)
            guard (0..<m.rows).contains(row) else { throw ValidationError("--row \(row) is outside \(queryFile)'s \(m.rows) rows") }
            query = Array(m.row(row))
        } else {
            let id = item!
            query = try opened.vector(id: id)
            parameters.exclude.insert(id)
        }
        let results = try opened.search(query, parameters: parameters)
        struct Row: Encodable { var id: String; var score: Float }
        let rows = try results.map { Row(id: try names?($0.id) ?? "\($0.id)", score: $0.score) }
        if json {
            print(try jsonText(rows))
        } else {
            print(Format.table([["rank", "id", "score"]] + rows.enumerated().map { ["\($0.offset + 1)", $0.element.id, String(format: "%.5f", $0.element.score)] }))
        }
    }
}
