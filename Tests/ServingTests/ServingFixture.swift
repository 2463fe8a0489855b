import Foundation
import LinearAlgebra
import Model
import ModelStore
import Serving
import Settings
import Store
import TestScratch
import VectorIndex

/// A small real deployment in a scratch directory (removed by `remove()`, and in any case when the
/// test process exits): a store with features and a leave-last-out split, a trained checkpoint
/// with a history encoder, and an IVF index of its item embeddings.
struct ServingFixture {
    let directory: String
    let options: ServingOptions
    static let token = "t0ken-for-tests"
    static let eventsToken = "events-t0ken"

    var storePath: String { directory + "/store.sqlite" }
    var modelPath: String { directory + "/model" }
    var indexPath: String { directory + "/index" }

    /// - Parameters:
    ///   - idOnly: plain id towers (no history encoder, no features) instead of the default model.
    ///   - extraUsers, extraItems: more raw ids (any characters), users interacting with the
    ///     extra items, so routes can be tried with ids that need percent-encoding.
    init(seed: UInt64 = 1, idOnly: Bool = false, extraUsers: [String] = [], extraItems: [String] = []) throws {
        directory = Scratch.path("serving")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try InteractionStore(path: directory + "/store.sqlite")
        // 40 users in 4 groups; group g likes items g*15 ..< g*15+15 of 60; items carry a genre
        // (their group) and users an age.
        try store.connection.transaction {
            let w = try StoreWriter(store: store)
            let genre = try w.feature(.item, name: "genre", kind: .categorical)
            let age = try w.feature(.user, name: "age", kind: .numeric)
            for i in 0..<60 {
                let id = try w.id(of: .item, raw: "item\(i)")
                try w.setTokens(.item, id: id, feature: genre, tokens: ["g\(i / 15)"])
            }
            for raw in extraItems {
                let id = try w.id(of: .item, raw: raw)
                try w.setTokens(.item, id: id, feature: genre, tokens: ["g0"])
            }
            for (n, raw) in extraUsers.enumerated() {
                let user = try w.id(of: .user, raw: raw)
                try w.setNumeric(.user, id: user, feature: age, value: 30)
                for t in 0..<4 {
                    let item = try w.id(of: .item, raw: extraItems.isEmpty ? "item\(n + t)" : extraItems[(n + t) % extraItems.count])
                    _ = try w.addInteraction(user: user, item: item, timestamp: Int64(t), weight: nil)
                }
            }
            for u in 0..<40 {
                let user = try w.id(of: .user, raw: "user\(u)")
                try w.setNumeric(.user, id: user, feature: age, value: Double(20 + u))
                let group = u % 4
                for t in 0..<8 {
                    let item = try w.id(of: .item, raw: "item\(group * 15 + (u * 7 + t * 3) % 15)")
                    _ = try w.addInteraction(user: user, item: item, timestamp: Int64(t), weight: nil)
                }
            }
        }
        _ = try Splitter(store: store).split(name: "leave-last-out", method: .leaveLastOut)
        try Self.train(store: store, seed: seed, to: directory + "/model", idOnly: idOnly)
        try Self.buildIndex(modelPath: directory + "/model", store: store, into: directory + "/index", seed: seed)
        var options = ServingOptions(storePath: directory + "/store.sqlite", modelPath: directory + "/model", indexPath: directory + "/index")
        options.port = 0
        options.defaultNprobe = 4
        options.adminToken = Self.token
        options.eventsToken = Self.eventsToken
        options.workerThreads = 2
        // No idle timeout: on a loaded 2-core machine a test can be kept off the CPU for more than
        // the daemon's 10 s, and the daemon would close the keep-alive connection under its client
        // ("I/O on closed channel"). The test of the timeout sets its own.
        options.idleTimeout = nil
        self.options = options
    }

    static func train(store: InteractionStore, seed: UInt64, to path: String, idOnly: Bool = false) throws {
        var config = TrainingConfig()
        config.embeddingDimension = 8
        config.historyLength = idOnly ? 0 : 4
        config.userFeatures = !idOnly
        config.itemFeatures = !idOnly
        config.seed = seed
        let architecture = try ModelData.architecture(config: config, store: store)
        let histories = try ModelData.trainingHistories(store: store, split: "leave-last-out", users: architecture.user.count)
        var pairs: [(Int32, Int32)] = []
        for (u, items) in histories.enumerated() { for i in items { pairs.append((Int32(u), i)) } }
        var s = TrainerSettings()
        s.dimension = 8
        s.epochs = 5
        s.batchSize = 32
        s.learningRate = 0.02
        s.seed = seed
        let inputs = try ModelData.inputs(store: store, architecture: architecture, split: "leave-last-out", histories: histories)
        let (model, _) = try Trainer(settings: s).train(pairs: pairs, architecture: architecture, inputs: inputs)
        try Checkpoint.save(model, info: CheckpointInfo(formatVersion: Checkpoint.formatVersion, userCount: architecture.user.count,
                                                        itemCount: architecture.item.count, dimension: 8, config: "{}",
                                                        store: store.path, split: "leave-last-out", validation: nil, epochs: 5), to: path)
    }

    static func buildIndex(modelPath: String, store: InteractionStore, into root: String, seed: UInt64) throws {
        let loaded = try LoadedModel.load(modelPath, store: store)
        // IVF with four lists (not the exact layout a set this small gets by default), so the
        // tests see probing, widening and nprobe bounds; no calibration (searches default to 8, at
        // most nlist).
        var parameters = BuildParameters(nlist: 4)
        parameters.layout = .ivf
        parameters.calibration = nil
        parameters.seed = seed
        _ = try IndexBuilder.build(vectors: loaded.itemEmbeddings(), parameters: parameters, into: root)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
