import Foundation
import LinearAlgebra
import ModelStore
import VectorIndex

/// `twotower embed`: a model's item or user embeddings as float32 .npy (row = dense id).
public enum EmbedJob {
    public enum Side: String, Sendable { case users, items }

    /// Writes the embeddings of one side to `out`; returns their shape.
    @discardableResult
    public static func run(model: String, side: Side, out: String) throws -> (rows: Int, dimension: Int) {
        let loaded = try LoadedModel.load(model)
        let matrix = side == .items ? loaded.itemEmbeddings() : loaded.userEmbeddings()
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
