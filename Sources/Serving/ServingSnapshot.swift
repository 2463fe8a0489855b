import Foundation
import Model
import VectorIndex

/// One consistent pair of model and index. A request takes the current snapshot once, when it
/// starts, and uses it for everything (validation, the work, the versions it reports), so a
/// reload never changes what an in-flight request sees; the old pair is released when its last
/// request finishes.
public final class ServingSnapshot: Sendable {
    public let model: TwoTowerModel
    public let info: CheckpointInfo
    /// The checksum of the checkpoint's bytes as loaded: changes whenever the weights do.
    public let modelVersion: String
    public let index: IVFIndex
    /// The index version directory's name.
    public let indexVersion: String

    public init(model: TwoTowerModel, info: CheckpointInfo, modelVersion: String, index: IVFIndex) {
        self.model = model
        self.info = info
        self.modelVersion = modelVersion
        self.index = index
        indexVersion = (index.path as NSString).lastPathComponent
    }

    /// Loads the checkpoint in `modelPath` and the current version of the index at `indexPath`.
    /// - Throws: `CheckpointError` or `IndexError` when either cannot be read (a damaged
    ///   checkpoint included), `SnapshotError` when they do not belong together.
    public static func load(modelPath: String, indexPath: String) throws -> ServingSnapshot {
        let (model, info, version) = try Checkpoint.loadFingerprinted(from: modelPath)
        let index = try IVFIndex(path: indexPath, writable: true)
        guard index.dimension == model.dimension else {
            throw SnapshotError(message: "the index at \(indexPath) holds \(index.dimension)-dimensional vectors; "
                                + "the model at \(modelPath) makes \(model.dimension)")
        }
        return ServingSnapshot(model: model, info: info, modelVersion: version, index: index)
    }
}

/// A model and an index that cannot serve together.
public struct SnapshotError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
