/// A numeric side feature and the statistics that standardise it, (x − mean) / deviation, fitted
/// on the training entities and kept with the model so serving encodes fresh values the same way.
public struct NumericFeature: Codable, Sendable, Equatable {
    public var name: String
    public var mean: Float
    public var deviation: Float

    public init(name: String, mean: Float, deviation: Float) {
        self.name = name
        self.mean = mean
        self.deviation = deviation
    }

    /// Mean and standard deviation of `values` (deviation 1 when they are all equal).
    public static func fit(name: String, values: [Float]) -> NumericFeature {
        guard !values.isEmpty else { return NumericFeature(name: name, mean: 0, deviation: 1) }
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.reduce(Float(0)) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
        return NumericFeature(name: name, mean: mean, deviation: variance > 0 ? variance.squareRoot() : 1)
    }

    public func standardize(_ x: Float) -> Float { (x - mean) / deviation }
}

/// The shape of one tower: which encoders it has and its MLP. Saved in checkpoints.
public struct TowerSpec: Codable, Sendable, Equatable {
    /// Entities (users or items) known at training time.
    public var count: Int
    public var dimension: Int
    /// Hash ids into this many rows (0: one row per id). Bounds the table for huge id spaces.
    public var idBuckets = 0
    /// Rows of the categorical / multi-hot token table (0: no such features).
    public var tokenRows = 0
    /// Names of the categorical and multi-hot features the tower pools.
    public var tokenFeatures: [String] = []
    public var numeric: [NumericFeature] = []
    /// nil: no MLP (a pure embedding model).
    public var mlp: MLPSpec?
    /// Standard deviation of the id embeddings at initialisation (nil: 0.1). Small values let
    /// the feature encoders dominate for ids training never reaches (a long tail of cold items).
    public var idInitScale: Float?

    public init(count: Int, dimension: Int, idBuckets: Int = 0, tokenRows: Int = 0, tokenFeatures: [String] = [],
                numeric: [NumericFeature] = [], mlp: MLPSpec? = nil) {
        self.count = count
        self.dimension = dimension
        self.idBuckets = idBuckets
        self.tokenRows = tokenRows
        self.tokenFeatures = tokenFeatures
        self.numeric = numeric
        self.mlp = mlp
    }

    /// Rows of the id table.
    public var idRows: Int { idBuckets > 0 ? idBuckets : count }
}

/// How the history encoder pools a user's recent items.
public enum HistoryPooling: String, Sendable, Codable, CaseIterable {
    /// The plain mean of the items' embeddings.
    case mean
    /// A softmax-weighted mean with one learned logit per item.
    case learned
}

/// The user tower's history encoder: the mean of the embeddings of the user's `length` most
/// recent items, from the item tower's id table (`shared`) or a table of its own, optionally
/// weighted by a learned logit per item.
public struct HistorySpec: Codable, Sendable, Equatable {
    public var length: Int
    public var shared: Bool
    /// A learned weight per item (a softmax-weighted mean); nil in checkpoints from before it existed.
    public var learnedWeights: Bool?

    public init(length: Int, shared: Bool, learnedWeights: Bool = false) {
        self.length = length
        self.shared = shared
        self.learnedWeights = learnedWeights ? true : nil
    }

    public var hasLearnedWeights: Bool { learnedWeights ?? false }
}

/// Everything needed to rebuild a model's parameter shapes.
public struct ModelArchitecture: Codable, Sendable, Equatable {
    public var user: TowerSpec
    public var item: TowerSpec
    public var history: HistorySpec?

    public init(user: TowerSpec, item: TowerSpec, history: HistorySpec? = nil) {
        self.user = user
        self.item = item
        self.history = history
    }

    /// ID embeddings only, as the PyTorch peer: no features, no history, no MLP.
    public static func idOnly(users: Int, items: Int, dimension: Int) -> ModelArchitecture {
        ModelArchitecture(user: TowerSpec(count: users, dimension: dimension), item: TowerSpec(count: items, dimension: dimension))
    }
}

/// A model shape that cannot exist: a negative or zero size, or more parameters than memory holds.
public struct ArchitectureError: Error, CustomStringConvertible {
    public let description: String
}

extension ModelArchitecture {
    /// The most parameters a model may have (2³⁶ floats, 256 GiB): a header asking for more is
    /// damaged or crafted, and is refused before anything is allocated.
    public static let maxParameters = 1 << 36

    /// How many floats `TwoTowerModel.parameters` holds for this shape, computed with checked
    /// arithmetic from the header alone.
    /// - Throws: `ArchitectureError` for negative or zero sizes, or a total past `maxParameters`.
    public func parameterCount() throws -> Int {
        var total = 0
        func add(_ rows: Int, _ cols: Int, _ what: String) throws {
            guard rows >= 0, cols >= 0 else { throw ArchitectureError(description: "\(what) has a negative size \(rows)×\(cols)") }
            let (product, o1) = rows.multipliedReportingOverflow(by: cols)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2, sum <= Self.maxParameters else {
                throw ArchitectureError(description: "\(what) (\(rows)×\(cols)) takes the model past \(Self.maxParameters) parameters")
            }
            total = sum
        }
        for (name, t) in [("user", user), ("item", item)] {
            guard t.dimension >= 1, t.count >= 0, t.idBuckets >= 0, t.tokenRows >= 0 else {
                throw ArchitectureError(description: "the \(name) tower has an impossible size (dimension \(t.dimension), count \(t.count))")
            }
            try add(t.idRows, t.dimension, "the \(name) id table")
            if t.tokenRows > 0 { try add(t.tokenRows, t.dimension, "the \(name) token table") }
        }
        guard user.dimension == item.dimension else {
            throw ArchitectureError(description: "the towers' dimensions differ (\(user.dimension) and \(item.dimension))")
        }
        if let history {
            guard history.length >= 0 else { throw ArchitectureError(description: "a negative history length") }
            if !history.shared { try add(item.count, item.dimension, "the history table") }
            if history.hasLearnedWeights { try add(item.count, 1, "the history weights") }
        }
        for (name, t) in [("user", user), ("item", item)] {
            if !t.numeric.isEmpty {
                try add(t.numeric.count, t.dimension, "the \(name) numeric layer")
                try add(1, t.dimension, "the \(name) numeric bias")
            }
            if let mlp = t.mlp {
                guard !mlp.hidden.isEmpty, mlp.hidden.allSatisfy({ $0 >= 1 }) else {
                    throw ArchitectureError(description: "the \(name) MLP has impossible widths \(mlp.hidden)")
                }
                let widths = [t.dimension] + mlp.hidden + [t.dimension]
                for l in 0..<(widths.count - 1) {
                    try add(widths[l], widths[l + 1], "the \(name) MLP layer \(l + 1)")
                    try add(1, widths[l + 1], "its bias")
                }
                if mlp.layerNorm { for w in mlp.hidden { try add(2, w, "the \(name) MLP's LayerNorm") } }
            }
        }
        return total
    }
}
