import Foundation
import Testing

/// `refit_split`: early stopping on a validation split, then the chosen epoch count again from
/// scratch on the split the validation was carved from.
struct RefitCommandTests {
    @Test func trainRefitsOnTheSourceSplitForTheBestEpochCount() async throws {
        let dir = Scratch()
        let run = { (args: [String]) in try await Tool.succeed(args) }
        try await Tool.smallStore(in: dir)
        let base = try await run(["split", "--store", dir.file("s.sqlite"), "--method", "temporal-ratio", "--validation", "0", "--test", "0.2", "--name", "base"])
        _ = try await run(["split", "--store", dir.file("s.sqlite"), "--method", "validation-from", "--source", "base", "--name", "base-val"])
        let baseTrain = try #require(base.stdout.firstMatch(of: /train ([\d,]*\d)/)).1
        try Data(#"{"epochs": 4, "batch_size": 256, "embedding_dimension": 16, "split": "base-val", "refit_split": "base"}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.file("train.json")))
        let train = try await run(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("train.json"), "--out", dir.file("model")])
        // The refit trains on every interaction of base's train part, validation ones included.
        let refit = try #require(train.stdout.firstMatch(of: /refit on 'base': ([\d,]+) interactions for (\d+) epochs/))
        #expect(refit.1 == baseTrain)
        let epochs = try #require(Int(refit.2))
        #expect((1...4).contains(epochs))
        // The validated epochs print a validation score; the refit's epochs do not, and stop at the chosen count.
        let after = train.stdout.components(separatedBy: "refit on").last ?? ""
        #expect(after.contains("epoch \(String(repeating: " ", count: 3 - String(epochs).count))\(epochs)"))
        #expect(!after.contains("val recall@20") && !after.contains("epoch \(String(repeating: " ", count: 3 - String(epochs + 1).count))\(epochs + 1) "))
        let evaluate = try await run(["evaluate", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--split", "test",
                                "--split-name", "base", "--json"])
        let metrics = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(metrics?["recall@20"] is Double)
        // The early-stopped model is kept beside the refit one and loads too.
        let validated = try await run(["evaluate", "--store", dir.file("s.sqlite"), "--model", dir.file("model/validated"), "--split", "test",
                                 "--split-name", "base", "--json"])
        let validatedMetrics = try JSONSerialization.jsonObject(with: Data(validated.stdout.utf8)) as? [String: Any]
        #expect(validatedMetrics?["recall@20"] is Double)
        // Without --split-name (the store has two splits) a model is evaluated on the split it was
        // trained on: the refit model on base, the validated one on base-val. base-val's test part
        // is base's, and at test time its validation part is masked too, so with these ID-only
        // towers the validated model scores the same on either.
        let implicit = try await run(["evaluate", "--store", dir.file("s.sqlite"), "--model", dir.file("model"), "--split", "test", "--json"])
        #expect(implicit.stdout == evaluate.stdout && implicit.stderr.contains("'base'"))
        let onOwnSplit = try await run(["evaluate", "--store", dir.file("s.sqlite"), "--model", dir.file("model/validated"), "--split", "test", "--json"])
        #expect(onOwnSplit.stderr.contains("'base-val'"))
        #expect(onOwnSplit.stdout == validated.stdout)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("model/model.ckpt")))
                    != Data(contentsOf: URL(fileURLWithPath: dir.file("model/validated/model.ckpt"))))

        // A refit on the validated split itself is refused by name before training.
        try Data(#"{"split": "base-val", "refit_split": "base-val"}"#.utf8).write(to: URL(fileURLWithPath: dir.file("bad.json")))
        let bad = try await Tool.run(["train", "--store", dir.file("s.sqlite"), "--config", dir.file("bad.json"), "--out", dir.file("m2")])
        #expect(bad.status != 0 && bad.stderr.contains("refit_split"))
    }
}
