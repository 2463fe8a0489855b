import Evaluation
import Foundation
import LinearAlgebra
import Model
import ModelStore
import Store
import VectorIndex

/// What `twotower evaluate` scores.
public enum EvaluatedModel: Sendable {
    /// Items by training count.
    case popularity
    /// A model directory written by `twotower train`.
    case directory(String)
    /// User and item embeddings as float32 .npy files (row = dense id).
    case embeddings(users: String, items: String)
}

/// Exact full-ranking evaluation of a split's test or validation part (`../shared/EVAL.md`).
public struct EvaluationJob {
    public var store: String
    /// nil: the store's only split, else the split a model directory was trained on.
    public var splitName: String?
    public var part: SplitPart
    public var model: EvaluatedModel
    public var ks: [Int]
    /// When set, rank through this index (holding the model's item embeddings under dense ids)
    /// instead of exactly, at `nprobe` and `rerankFactor` or the index's calibrated setting.
    public var index: String?
    public var nprobe: Int?
    public var rerankFactor: Int?

    public init(store: String, splitName: String?, part: SplitPart, model: EvaluatedModel, ks: [Int] = [10, 20, 50]) {
        self.store = store
        self.splitName = splitName
        self.part = part
        self.model = model
        self.ks = ks
    }

    public struct Outcome: Sendable {
        public var metrics: RankingMetrics
        public var split: String
        /// The split was not named, and the model's own one was chosen among several.
        public var splitInferred: Bool
        public var seconds: Double
        /// The search setting used, when ranked through an index.
        public var throughIndex: (nprobe: Int, rerankFactor: Int)?
    }

    public func run() throws -> Outcome {
        guard part != .train else { throw JobError("the held-out part must be test or validation, not train") }
        let opened = try InteractionStore(path: store, create: false)
        let names = try opened.splitNames()
        let trained: String? = {
            guard case .directory(let path) = model, let info = try? Checkpoint.info(in: path), names.contains(info.split) else { return nil }
            return info.split
        }()
        guard let name = splitName ?? (names.count == 1 ? names[0] : nil) ?? trained else {
            throw JobError("the store has splits \(names.joined(separator: ", ")); choose one with --split-name")
        }
        let data = try EvaluationData.load(store: opened, split: name, part: part)
        let started = Date()
        var metrics: RankingMetrics
        var setting: (nprobe: Int, rerankFactor: Int)?
        // Exact ranking of the embeddings, or ranking through the index when one is given.
        func rank(users: Matrix, items: Matrix) throws -> RankingMetrics {
            guard let index else { return FullRankingEvaluator.evaluate(EmbeddingScorer(users: users, items: items), data: data, ks: ks) }
            let ivf = try IVFIndex(path: index)
            guard ivf.dimension == users.cols else {
                throw JobError("the index \(index) has dimension \(ivf.dimension), the model's embeddings \(users.cols)")
            }
            let chosen = (min(nprobe ?? ivf.metadata.defaultNprobe, ivf.metadata.nlist), rerankFactor ?? ivf.metadata.defaultRerankFactor)
            setting = chosen
            return try evaluateThroughIndex(ivf, users: users, data: data, nprobe: chosen.0, rerankFactor: chosen.1, ks: ks)
        }
        switch model {
        case .popularity:
            guard index == nil else { throw JobError("--index ranks a model's embeddings through an index; popularity has none") }
            metrics = FullRankingEvaluator.evaluate(PopularityScorer(data: data), data: data, ks: ks)
        case let .embeddings(userPath, itemPath):
            let users = try VectorFile.readMatrix(userPath), items = try VectorFile.readMatrix(itemPath)
            guard users.rows == data.userCount, items.rows == data.itemCount, users.cols == items.cols else {
                throw JobError("embeddings are \(users.rows)×\(users.cols) and \(items.rows)×\(items.cols); "
                               + "the store has \(data.userCount) users and \(data.itemCount) items")
            }
            metrics = try rank(users: users, items: items)
        case .directory(let path):
            let loaded = try LoadedModel.load(path, store: opened, split: name, histories: data.masked)
            guard loaded.userCount == data.userCount, loaded.itemCount == data.itemCount else {
                throw JobError("the model has \(loaded.userCount) users and \(loaded.itemCount) items; the store has "
                               + "\(data.userCount) and \(data.itemCount) (train again, or evaluate on the store it was trained on)")
            }
            metrics = try rank(users: loaded.userEmbeddings(), items: loaded.itemEmbeddings())
        }
        return Outcome(metrics: metrics, split: name, splitInferred: splitName == nil && names.count > 1,
                       seconds: Date().timeIntervalSince(started), throughIndex: setting)
    }
}

/// A job could not run with what it was given; the message says what to change.
public struct JobError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
