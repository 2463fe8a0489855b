import Foundation
import LinearAlgebra
import ModelStore
import Store
import VectorIndex

/// `twotower embed`: a model's item or user embeddings as float32 .npy (row = dense id).
public enum EmbedJob {
    public enum Side: String, Sendable { case users, items }

    /// Writes the embeddings of one side to `out`; returns their shape. With `shard`, only the
    /// rows whose raw id falls in it, and their dense ids (int64 .npy) to `ids`, which is what
    /// `build-index --ids` takes to build that shard's index. Features, histories and raw ids come
    /// from `store`, or from the store the model was trained on (its path as given then, so
    /// relative to the directory training ran in).
    @discardableResult
    public static func run(model: String, side: Side, out: String, shard: Shard? = nil, ids: String? = nil,
                           store storePath: String? = nil) throws -> (rows: Int, dimension: Int) {
        let given = try storePath.map { try InteractionStore(path: $0, create: false) }
        let loaded = try LoadedModel.load(model, store: given)
        var matrix = side == .items ? loaded.itemEmbeddings() : loaded.userEmbeddings()
        if let shard {
            guard let ids else { throw JobError("--shard needs --ids-out for the rows' dense ids") }
            let store = try given ?? InteractionStore(path: loaded.info.store, create: false)
            var keep: [Int64] = []
            try store.forEachEntity(of: side == .items ? .item : .user) { dense, raw in
                if dense < matrix.rows, shard.contains(raw) { keep.append(Int64(dense)) }
            }
            var values: [Float] = []
            values.reserveCapacity(keep.count * matrix.cols)
            for id in keep { values += matrix.row(Int(id)) }
            matrix = Matrix(rows: keep.count, cols: matrix.cols, values: values)
            try VectorFile.writeIDs(keep, to: ids)
        } else if let ids {
            try VectorFile.writeIDs((0..<Int64(matrix.rows)).map { $0 }, to: ids)
        }
        try VectorFile.writeNPY(matrix, to: out)
        return (matrix.rows, matrix.cols)
    }

    /// Writes the embeddings of one side of a model just trained (no reload), e.g. for
    /// `train --export-items`; returns their shape.
    @discardableResult
    public static func write(_ outcome: TrainingJob.Outcome, side: Side, out: String) throws -> (rows: Int, dimension: Int) {
        let matrix = side == .items ? outcome.model.itemEmbeddings(outcome.inputs) : outcome.model.userEmbeddings(outcome.inputs)
        try VectorFile.writeNPY(matrix, to: out)
        return (matrix.rows, matrix.cols)
    }
}
