import LinearAlgebra
import Randomness

/// One tower: id embedding + pooled token embeddings + a linear map of numeric features (+ any
/// input added by the model, the history encoding for users), summed, then the MLP if any, then
/// L2-normalised. Summing keeps every encoder at the embedding width, so the tower without an
/// MLP is exactly the classic embedding model.
public struct Tower: Sendable {
    public let spec: TowerSpec
    public var ids: EmbeddingTable
    public var tokens: EmbeddingTable?
    public var numeric: Linear?
    public var mlp: MLP?

    /// - Parameter initialize: false leaves the tables zero, for a model whose weights are about
    ///   to be loaded (drawing millions of random values would be wasted work).
    public init(spec: TowerSpec, seed: UInt64, initialize: Bool = true) {
        self.spec = spec
        ids = EmbeddingTable(count: spec.idRows, dimension: spec.dimension, scale: initialize ? spec.idInitScale ?? 0.1 : 0, seed: seed)
        tokens = spec.tokenRows > 0 ? EmbeddingTable(count: spec.tokenRows, dimension: spec.dimension, scale: initialize ? 0.1 : 0, seed: seed &+ 11) : nil
        numeric = spec.numeric.isEmpty ? nil
            : Linear(inputs: spec.numeric.count, outputs: spec.dimension, initialization: .xavier, seed: seed &+ 13)
        mlp = spec.mlp.map { MLP(inputs: spec.dimension, outputs: spec.dimension, spec: $0, seed: seed &+ 17) }
    }

    public var dimension: Int { spec.dimension }

    /// The id-table row of entity `id` (hashed when the spec asks for buckets); −1 stays −1.
    public func row(of id: Int32) -> Int32 {
        guard id >= 0 else { return -1 }
        guard spec.idBuckets > 0 else { return Int(id) < spec.count ? id : -1 }
        var z = UInt64(UInt32(bitPattern: id)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int32((z ^ (z >> 31)) % UInt64(spec.idBuckets))
    }

    /// Dense parameters (numeric layer, then MLP) in a fixed order, for the optimiser and checkpoints.
    public var denseParameters: [Matrix] {
        get { (numeric.map { [$0.weight, $0.bias] } ?? []) + (mlp?.parameters ?? []) }
        set {
            var rest = newValue[...]
            if numeric != nil {
                numeric = Linear(weight: rest.removeFirst(), bias: rest.removeFirst())
            }
            if mlp != nil { mlp!.parameters = Array(rest) }
        }
    }

    /// The encoders' sum, before the MLP.
    func encode(_ batch: TowerBatch, rows: [Int32], added: Matrix?) -> Matrix {
        let d = dimension
        var sum = added ?? Matrix(rows: batch.count, cols: d)
        sum.values.withUnsafeMutableBufferPointer { s in
            ids.weights.values.withUnsafeBufferPointer { w in
                for (r, row) in rows.enumerated() where row >= 0 {
                    for j in 0..<d { s[r * d + j] += w[Int(row) * d + j] }
                }
            }
            if let tokens {
                tokens.weights.values.withUnsafeBufferPointer { t in
                    for r in 0..<batch.count {
                        for token in batch.tokens[r] where token.row >= 0 && Int(token.row) < tokens.count {
                            for j in 0..<d { s[r * d + j] += token.weight * t[Int(token.row) * d + j] }
                        }
                    }
                }
            }
        }
        if let numeric, batch.numeric.cols == numeric.inputs {
            let projected = numeric.forward(batch.numeric)
            for i in sum.values.indices { sum.values[i] += projected.values[i] }
        }
        return sum
    }

    /// Normalised embeddings for `batch` (inference: no dropout).
    func forward(_ batch: TowerBatch, added: Matrix? = nil) -> Matrix {
        let rows = batch.ids.map(row(of:))
        var y = encode(batch, rows: rows, added: added)
        if let mlp { y = mlp(y) }
        return L2Normalize.forward(y).y
    }

    /// Inference.
    public func callAsFunction(_ batch: TowerBatch, added: Matrix? = nil) -> Matrix { forward(batch, added: added) }
}
