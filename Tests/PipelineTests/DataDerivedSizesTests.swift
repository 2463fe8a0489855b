import Foundation
import Model
import Pipeline
import Settings
import Store
import TestScratch
import Testing

/// `derive_sizes`: the sizes the configuration leaves to the data are set from the train part,
/// a key the file sets wins, and the refit on train + validation trains on both parts.
struct DataDerivedSizesTests {
    @Test func theRulesScaleWithTheData() {
        let all = TrainingRecipe.derivableKeys
        // A MovieLens-100K-sized set and a Gowalla-sized one.
        let (small, _) = DataDerivedSizes.apply(to: TrainingConfig(), derive: all,
                                                stats: .init(interactions: 98_000, items: 1_682, historyP90: 240))
        #expect(small.batchSize == 512 && small.extraNegatives == 256 && small.embeddingDimension == 64 && small.historyLength == 200)
        #expect(small.epochs == 50 && small.warmupSteps == 96)
        let (large, notes) = DataDerivedSizes.apply(to: TrainingConfig(), derive: all,
                                                    stats: .init(interactions: 810_128, items: 40_981, historyP90: 57))
        #expect(large.batchSize == 2_048 && large.extraNegatives == 1_024 && large.embeddingDimension == 192 && large.historyLength == 57)
        #expect(large.epochs == 25 && large.warmupSteps == 198)
        #expect(Set(notes.map(\.key)) == all && notes.allSatisfy { !$0.reason.isEmpty })
        // Tiny data stays inside the ranges.
        let (tiny, _) = DataDerivedSizes.apply(to: TrainingConfig(), derive: all, stats: .init(interactions: 30, items: 5, historyP90: 2))
        #expect(tiny.batchSize == 256 && tiny.extraNegatives == 1 && tiny.embeddingDimension == 64 && tiny.historyLength == 10)
        #expect(tiny.epochs == 50 && tiny.warmupSteps == 0)
    }

    @Test func theNinetiethPercentileIgnoresUsersWithoutHistory() {
        let histories: [[Int32]] = (1...10).map { n in [Int32](repeating: 0, count: n) } + [[], []]
        #expect(DataDerivedSizes.Statistics(histories: histories, items: 3) == .init(interactions: 55, items: 3, historyP90: 9))
    }

    @Test func aKeyTheFileSetsIsNeverDerived() throws {
        let path = Scratch.path("recipe", suffix: ".json")
        try Data(#"{"derive_sizes": true, "embedding_dimension": 24, "batch_size": 64}"#.utf8).write(to: URL(fileURLWithPath: path))
        let recipe = try TrainingRecipe.load(explicit: path, fallback: "unused")
        #expect(recipe.derive == TrainingRecipe.derivableKeys.subtracting(["embedding_dimension", "batch_size"]))
        let (c, _) = DataDerivedSizes.apply(to: recipe.config, derive: recipe.derive, stats: .init(interactions: 98_000, items: 1_682, historyP90: 40))
        #expect(c.embeddingDimension == 24 && c.batchSize == 64 && c.historyLength == 40)
        // Without derive_sizes nothing is derived, whatever the file leaves out.
        try Data(#"{"embedding_dimension": 24}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try TrainingRecipe.load(explicit: path, fallback: "unused").derive.isEmpty)
    }

    @Test func theShippedDefaultIsTheBuiltInRecipe() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let file = (root as NSString).appendingPathComponent("Config/train.json")
        let shipped = try TrainingRecipe.load(explicit: file, fallback: "unused"), builtIn = try TrainingRecipe.builtIn()
        #expect(shipped.config == builtIn.config && shipped.derive == builtIn.derive)
        #expect(builtIn.config.deriveSizes && builtIn.config.logqCorrection && builtIn.config.refitOnValidation)
        // Without the file (run from elsewhere) the same recipe is used.
        #expect(try TrainingRecipe.load(explicit: nil, fallback: Scratch.path("absent", suffix: ".json")).config == builtIn.config)
    }

    @Test func aJobDerivesLogsAndRefitsOnTrainAndValidation() throws {
        let storePath = try PipelineFixture.store()
        var recipe = try TrainingRecipe.builtIn()
        recipe.config.epochs = 2
        recipe.derive.remove("epochs")
        var lines: [String] = []
        let outcome = try TrainingJob(storePath: storePath, config: recipe.config, out: Scratch.path("derived"),
                                      derive: recipe.derive).run { lines.append($0) }
        // 60 users × 6 train interactions over 40 items: the smallest batch, a quarter of the items
        // as extra negatives, a history of 6 raised to the floor of 10.
        #expect(outcome.config.batchSize == 256 && outcome.config.extraNegatives == 10 && outcome.config.historyLength == 10)
        #expect(outcome.config.epochs == 2 && Set(outcome.derived.map(\.key)) == recipe.derive)
        #expect(lines.contains { $0.hasPrefix("sizes derived from the train part: ") && $0.contains("history_length 10") })
        // The refit reads train and validation: 7 of each user's 8 interactions.
        #expect(outcome.refitEpochs != nil && lines.contains { $0.contains("refit on 'leave-last-out (train + validation)': 420 interactions") })
        #expect(outcome.inputs.histories.allSatisfy { $0.count == 7 })
        let runConfig = try RunLog(store: InteractionStore(path: storePath, create: false)).run(outcome.run)?.config ?? ""
        #expect(runConfig.contains("\"history_length\" : 10"), "the run record has the sizes trained with")
    }

    @Test func aWarmStartKeepsTheCheckpointsArchitecture() throws {
        let storePath = try PipelineFixture.store()
        var recipe = try TrainingRecipe.builtIn()
        recipe.config.epochs = 2
        recipe.derive.remove("epochs")
        let first = Scratch.path("derived-a")
        _ = try TrainingJob(storePath: storePath, config: recipe.config, out: first, derive: recipe.derive).run { _ in }
        // Every user gains ten interactions on new items, so the derived history would be 16 now.
        let store = try InteractionStore(path: storePath, create: false)
        try store.write {
            let w = try StoreWriter(store: store)
            for u in 0..<60 {
                let user = try w.id(of: .user, raw: "u\(u)")
                for t in 0..<10 { try w.addInteraction(user: user, item: try w.id(of: .item, raw: "new-\((u + t) % 30)"), timestamp: Int64(-20 + t), weight: nil) }
            }
        }
        try StoreJobs.split(store, name: "leave-last-out", method: .leaveLastOut)
        let fresh = try TrainingJob(storePath: storePath, config: recipe.config, out: Scratch.path("derived-b"), derive: recipe.derive).run { _ in }
        #expect(fresh.config.historyLength == 16, "a fresh run derives from the grown store")
        var lines: [String] = []
        let warm = try TrainingJob(storePath: storePath, config: recipe.config, out: Scratch.path("derived-c"), initFrom: first,
                                   derive: recipe.derive).run { lines.append($0) }
        #expect(warm.config.historyLength == 10 && warm.model.architecture.history?.length == 10)
        #expect(lines.contains { $0.contains("warm start from") } && !lines.contains { $0.contains("history_length") })
    }

    @Test func bothRefitsAtOnceAreRefusedByName() {
        var c = TrainingConfig()
        c.refitOnValidation = true
        c.refitSplit = "other"
        #expect { try c.validate() } throws: { "\($0)".contains("refit_on_validation") }
    }
}
