import ModelStore
import ArgumentParser
import Settings
import Foundation
import Model
import VectorIndex

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the user and item towers on a split's train part; keep the best checkpoint.",
        discussion: """
            Today's towers are ID embeddings, L2-normalised, trained with in-batch sampled softmax \
            (temperature, masking of accidental positives) and lazy Adam. After each epoch the \
            model is scored by Recall@20 on the split's validation part (when it has one); the best \
            model is written to <out>/model.ckpt (temp file, then rename) and training stops after \
            `patience` epochs without improvement. The run and its epochs are recorded in the store.
            """
    )

    @Option(help: "The SQLite store.")
    var store: String

    @Option(help: "Training configuration (JSON).")
    var config = "Config/train.json"

    @Option(help: "Model directory to write.")
    var out: String

    @Option(name: .customLong("split-name"), help: "The split to train on (default: the config's).")
    var splitName: String?

    func run() throws {
        let c = try ConfigLoader.load(TrainingConfig.self, from: config)
        let outcome = try TrainingJob(storePath: store, config: c, split: splitName ?? c.split, out: out).run { print($0) }
        print("Wrote \(Checkpoint.file(in: out)) after \(outcome.history.count) epochs\(outcome.refitEpochs.map { " and a \($0)-epoch refit" } ?? "") in \(String(format: "%.1f", outcome.seconds)) s"
              + (outcome.bestValidation.map { String(format: "; best validation recall@20 %.4f", $0) } ?? ""))
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model's item or user embeddings as float32 .npy (row = dense id).",
        discussion: "The .npy files feed `twotower build-index` and the peers in ../shared/peers."
    )

    @Option(help: "The model directory (or its model.ckpt).")
    var model: String

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
        let loaded = try LoadedModel.load(model)
        let matrix = items ? loaded.itemEmbeddings() : loaded.userEmbeddings()
        try VectorIndex.VectorFile.writeNPY(matrix, to: out)
        print("Wrote \(out): \(Format.count(matrix.rows)) × \(matrix.cols) float32")
    }
}

