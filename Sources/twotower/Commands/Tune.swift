import ArgumentParser
import Foundation
import Pipeline
import Settings

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search training settings on the validation part within a time budget; write the best configuration.",
        discussion: """
            Successive halving over temperature, learning rate, embedding dimension, extra \
            negatives (popularity-sampled, with logQ) and loss, around the base configuration \
            (--config, default Config/train.json or the built-in defaults), which is always the \
            first trial: --trials configurations for --first-epochs epochs, the better half for \
            twice as many, and so on; the last one left is trained with the base's epochs and \
            early stopping. Trials are ranked by validation Recall@20 on the split's validation \
            part, never the test part. No trial is started that the measured pace says would end \
            past --budget. Writes the best configuration to --out (JSON, for `train --config`) \
            and every trial to --trials-out (CSV) when given.
            """
    )

    @OptionGroup var source: StoreOption

    @Option(help: "The base configuration (default: Config/train.json, or the same recipe built in when it is absent); sizes it leaves to the data are derived first.")
    var config: String?

    @Option(help: "Wall-clock budget: seconds, or a number with s, m or h (10m, 1h).")
    var budget: String

    @Option(help: "The best configuration's file (JSON).")
    var out: String

    @Option(name: .customLong("trials-out"), help: "Also write every trial as CSV here.")
    var trialsOut: String?

    @Option(parsing: .unconditional, help: "Configurations at the first rung, the base included.")
    var trials = 12

    @Option(name: .customLong("first-epochs"), parsing: .unconditional, help: "Epochs at the first rung (doubled at each later one).")
    var firstEpochs = 2

    @Option(parsing: .unconditional, help: "Seed for the configurations tried.")
    var seed: UInt64 = 1

    @OptionGroup var output: JSONFlag

    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600]
        if let last = text.last, let unit = units[last] { return Double(text.dropLast()).map { $0 * unit } }
        return Double(text)
    }

    func validate() throws {
        guard let s = Self.seconds(budget), s > 0, s.isFinite else {
            throw ValidationError("--budget is seconds or a number with s, m or h (for example 10m), not '\(budget)'")
        }
        try check(trials, atLeast: 1, "--trials")
        try check(firstEpochs, atLeast: 1, "--first-epochs")
    }

    func run() throws {
        let recipe = try TrainingRecipe.load(explicit: config, fallback: "Config/train.json")
        let (base, derived) = try TrainingJob.resolve(recipe.config, derive: recipe.derive, storePath: source.store)
        print("base configuration: \(recipe.source)" + (derived.isEmpty ? "" : "; derived from the data: "
            + derived.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        var job = TuneJob(storePath: source.store, base: base, budget: Self.seconds(budget)!)
        job.trials = trials
        job.firstEpochs = firstEpochs
        job.seed = seed
        let outcome = try job.run { print($0) }
        try Data((ConfigLoader.json(outcome.best) + "\n").utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        if let trialsOut {
            var text = "id,rung,epochs,temperature,learning_rate,embedding_dimension,extra_negatives,loss,validation_recall20,epochs_run,seconds\n"
            for t in outcome.trials {
                text += "\(t.id),\(t.rung),\(t.epochs),\(t.temperature),\(t.learningRate),\(t.embeddingDimension),\(t.extraNegatives),"
                    + "\(t.loss),\(String(format: "%.4f", t.validationRecall20)),\(t.epochsRun),\(String(format: "%.1f", t.seconds))\n"
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: trialsOut), options: .atomic)
        }
        if output.json {
            print(try jsonText(outcome.trials))
            return
        }
        let baseline = outcome.trials.filter { $0.id == 0 }.max { $0.rung < $1.rung }
        print("Wrote \(out): validation recall@20 \(String(format: "%.4f", outcome.bestValidation)) "
              + "(τ \(outcome.best.temperature), lr \(outcome.best.learningRate), d \(outcome.best.embeddingDimension), "
              + "\(outcome.best.extraNegatives) extras, \(outcome.best.loss.rawValue)) after \(outcome.trials.count) trials in "
              + String(format: "%.0f s", outcome.seconds)
              + (baseline.map { String(format: "; the base reached %.4f at rung %d", $0.validationRecall20, $0.rung) } ?? "")
              + (outcome.stoppedByBudget ? "; the budget ended the search early" : ""))
    }
}
