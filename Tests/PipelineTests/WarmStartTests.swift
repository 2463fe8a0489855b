import Foundation
import Model
import ModelStore
import Pipeline
import Settings
import Store
import TestScratch
import Testing

/// `train --init-from`: a refresh starts from the previous checkpoint on a store that has grown.
struct WarmStartTests {
    @Test func knownItemsKeepTheirRowsAndNewOnesStartFresh() throws {
        let storePath = try PipelineFixture.store()
        var config = TrainingConfig()
        config.embeddingDimension = 8
        config.epochs = 2
        config.batchSize = 64
        config.historyLength = 4
        let first = Scratch.path("model-a")
        _ = try TrainingJob(storePath: storePath, config: config, out: first).run { _ in }
        let (old, _) = try Checkpoint.load(from: first)
        // The store grows: new items and a new user with interactions on old and new items.
        let store = try InteractionStore(path: storePath, create: false)
        try store.write {
            let w = try StoreWriter(store: store)
            let user = try w.id(of: .user, raw: "newcomer")
            for (t, raw) in ["i1", "fresh-1", "fresh-2"].enumerated() {
                try w.addInteraction(user: user, item: try w.id(of: .item, raw: raw), timestamp: Int64(50 + t), weight: nil)
            }
        }
        let architecture = try ModelData.architecture(config: config, store: store)
        #expect(architecture.item.count == old.architecture.item.count + 2 && architecture.user.count == old.architecture.user.count + 1)
        let warm = try TwoTowerModel.warmStarted(from: old, architecture: architecture, seed: 9)
        let d = 8, known = old.architecture.item.count
        #expect(Array(warm.item.ids.weights.values[0..<(known * d)]) == old.item.ids.weights.values, "known items start where they were")
        #expect(warm.item.ids.weights.values[(known * d)...].contains { $0 != 0 }, "new items start from a fresh draw")
        #expect(Array(warm.user.ids.weights.values[0..<(old.architecture.user.count * d)]) == old.user.ids.weights.values)
        // A run from it: the log says so, and the model has the grown store's items.
        var lines: [String] = []
        _ = try TrainingJob(storePath: storePath, config: config, out: Scratch.path("model-b"), initFrom: first).run { lines.append($0) }
        #expect(lines.contains { $0.contains("warm start from") })
        // Another architecture is refused by name.
        var wider = config
        wider.embeddingDimension = 16
        #expect { _ = try TrainingJob(storePath: storePath, config: wider, out: Scratch.path("model-c"), initFrom: first).run { _ in } } throws: {
            "\($0)".contains("dimension")
        }
    }
}
