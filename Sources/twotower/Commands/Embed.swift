import ArgumentParser
import Pipeline

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model's item or user embeddings as float32 .npy (row = dense id).",
        discussion: "The .npy files feed `twotower build-index` (items), `build-index --queries` (users) and the peers in ../shared/peers."
    )

    @OptionGroup var source: ModelOption

    @Flag(help: "Export item embeddings.")
    var items = false

    @Flag(help: "Export user embeddings.")
    var users = false

    @Option(help: "The .npy file to write.")
    var out: String

    @Option(help: "Only the rows whose raw id hashes to shard I of S (FNV-1a of the id, modulo S), e.g. 0/4; needs --ids-out.")
    var shard: String?

    @Option(name: .customLong("ids-out"), help: "Also write the rows' dense ids (int64 .npy), for build-index --ids.")
    var idsOut: String?

    @Option(help: "The store for features, histories and the raw ids --shard hashes (default: the one the model was trained on, as its path was given then).")
    var store: String?

    func validate() throws {
        guard items != users else { throw ValidationError("give exactly one of --items and --users") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") }
            guard idsOut != nil else { throw ValidationError("--shard needs --ids-out (the shard's rows are not row = dense id)") }
        }
    }

    func run() throws {
        let shape = try EmbedJob.run(model: source.model, side: items ? .items : .users, out: out,
                                     shard: try shard.map { try Shard(parsing: $0) }, ids: idsOut, store: store)
        print("Wrote \(out): \(Format.count(shape.rows)) × \(shape.dimension) float32" + (idsOut.map { " (ids in \($0))" } ?? ""))
    }
}
