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

    func validate() throws {
        guard items != users else { throw ValidationError("give exactly one of --items and --users") }
    }

    func run() throws {
        let shape = try EmbedJob.run(model: source.model, side: items ? .items : .users, out: out)
        print("Wrote \(out): \(Format.count(shape.rows)) × \(shape.dimension) float32")
    }
}
