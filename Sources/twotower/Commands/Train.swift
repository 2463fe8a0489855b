import ArgumentParser
import Foundation
import Model
import Pipeline
import Settings

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the user and item towers on a split's train part; publish the best model.",
        discussion: """
            The towers are those the configuration asks for: id embeddings (optionally hashed), \
            pooled side features from the store, a history encoder over each user's recent items, \
            an optional MLP; both end L2-normalised, so scores are cosines. The loss is sampled \
            softmax over in-batch and extra negatives (with logQ correction), SimpleX's cosine \
            contrastive loss or BPR, optimised with lazy Adam. After each epoch the model is scored \
            by Recall@20 on the split's validation part; training stops after `patience` epochs \
            without improvement, and with `refit_split` the best epoch count is trained again on \
            the larger split (or, with `refit_on_validation`, on the split's train and validation parts \
            together). With `derive_sizes` (the default recipe), the sizes the file does not set — \
            embedding dimension, batch size, history length, extra negatives, warm-up, epochs — are \
            derived from the train part and printed. The run writes into <out>/runs/<run>/ and the finished model is moved \
            to <out>/model.ckpt in one rename, so a run that fails or is killed leaves the previous \
            model in place. The run and its epochs are recorded in the store.
            """
    )

    @OptionGroup var source: StoreOption

    @Option(help: "Training configuration (JSON; default: Config/train.json, or the same recipe built in when it is absent). Sizes it does not set are derived from the data when it says derive_sizes.")
    var config: String?

    @Option(help: "The model directory to write.")
    var out: String

    @Option(name: .customLong("split-name"), help: "The split to train on (default: the configuration's).")
    var splitName: String?

    @Option(name: .customLong("init-from"), help: "Start from this model directory's checkpoint (a warm start for a refresh: known users, items and tokens keep their rows; the architecture must match).")
    var initFrom: String?

    @Option(name: .customLong("export-items"), help: "Also write the trained item embeddings here (float32 .npy, row = dense id), for build-index.")
    var exportItems: String?

    @Option(name: .customLong("export-users"), help: "Also write the trained user embeddings here (float32 .npy), for build-index --queries.")
    var exportUsers: String?

    func run() throws {
        let recipe = try TrainingRecipe.load(explicit: config, fallback: "Config/train.json")
        print("training configuration: \(recipe.source)")
        let outcome = try TrainingJob(storePath: source.store, config: recipe.config, split: splitName, out: out, initFrom: initFrom,
                                      derive: recipe.derive).run { print($0) }
        print("Wrote \(ModelDirectory(path: out).checkpoint) after \(outcome.history.count) epochs"
              + (outcome.refitEpochs.map { " and a \($0)-epoch refit" } ?? "") + " in \(String(format: "%.1f", outcome.seconds)) s"
              + (outcome.bestValidation.map { String(format: "; best validation recall@20 %.4f", $0) } ?? ""))
        for (side, path) in [(EmbedJob.Side.items, exportItems), (.users, exportUsers)] {
            guard let path else { continue }
            let shape = try EmbedJob.write(outcome, side: side, out: path)
            print("Wrote \(path): \(Format.count(shape.rows)) × \(shape.dimension) float32")
        }
    }
}
