import LinearAlgebra

/// One token of a categorical or multi-hot feature with its pooling weight (value over the sum
/// of the entity's values for that feature, so every feature pools to a weighted mean).
public struct TokenWeight: Sendable, Equatable {
    public var row: Int32
    public var weight: Float

    public init(row: Int32, weight: Float) {
        self.row = row
        self.weight = weight
    }
}

/// A side-feature value as a store holds it: entity, feature name, token (categorical and
/// multi-hot) or value (numeric).
public struct FeatureValue: Sendable {
    public var entity: Int
    public var feature: String
    public var isNumeric: Bool
    public var token: Int32
    public var value: Float

    public init(entity: Int, feature: String, isNumeric: Bool, token: Int32, value: Float) {
        self.entity = entity
        self.feature = feature
        self.isNumeric = isNumeric
        self.token = token
        self.value = value
    }
}

/// The encoded side features of every entity on one side: pooled token weights and
/// standardised numeric values (missing values are the mean, 0).
public struct EntityFeatures: Sendable {
    public var tokens: [[TokenWeight]]
    /// count × numeric features.
    public var numeric: Matrix

    public init(tokens: [[TokenWeight]], numeric: Matrix) {
        self.tokens = tokens
        self.numeric = numeric
    }

    /// Encodes `values` for `count` entities; numeric features are those of `numericFeatures`
    /// (others are ignored), tokens keep their store ids as rows.
    public init(count: Int, values: [FeatureValue], numericFeatures: [NumericFeature]) {
        let column = Dictionary(uniqueKeysWithValues: numericFeatures.enumerated().map { ($1.name, $0) })
        var numeric = Matrix(rows: count, cols: numericFeatures.count)
        var grouped = [[String: [(Int32, Float)]]](repeating: [:], count: count)
        for v in values where v.entity >= 0 && v.entity < count {
            if v.isNumeric {
                if let c = column[v.feature] { numeric.values[v.entity * numericFeatures.count + c] = numericFeatures[c].standardize(v.value) }
            } else {
                grouped[v.entity][v.feature, default: []].append((v.token, v.value))
            }
        }
        tokens = grouped.map { features in
            features.keys.sorted().flatMap { name -> [TokenWeight] in
                let entries = features[name]!
                let total = entries.reduce(Float(0)) { $0 + abs($1.1) }
                return entries.map { TokenWeight(row: $0.0, weight: total > 0 ? $0.1 / total : 1 / Float(entries.count)) }
            }
        }
        self.numeric = numeric
    }

    /// The rows of `entities`, as a tower batch's features.
    func rows(_ entities: [Int32]) -> (tokens: [[TokenWeight]], numeric: Matrix) {
        let n = numeric.cols
        var out = Matrix(rows: entities.count, cols: n)
        for (r, e) in entities.enumerated() where e >= 0 && Int(e) < tokens.count && n > 0 {
            out.values.replaceSubrange((r * n)..<((r + 1) * n), with: numeric.values[(Int(e) * n)..<((Int(e) + 1) * n)])
        }
        return (entities.map { $0 >= 0 && Int($0) < tokens.count ? tokens[Int($0)] : [] }, out)
    }
}

/// What a tower reads for a batch of rows.
public struct TowerBatch: Sendable {
    /// Dense ids; −1 for an entity without an id embedding (cold start).
    public var ids: [Int32]
    public var tokens: [[TokenWeight]]
    /// rows × numeric features, standardised (0 columns when the tower has none).
    public var numeric: Matrix
    /// User tower only: each row's recent items (dense item ids, oldest first).
    public var histories: [[Int32]]

    public init(ids: [Int32], tokens: [[TokenWeight]]? = nil, numeric: Matrix? = nil, histories: [[Int32]]? = nil) {
        self.ids = ids
        self.tokens = tokens ?? Array(repeating: [], count: ids.count)
        self.numeric = numeric ?? Matrix(rows: ids.count, cols: 0)
        self.histories = histories ?? Array(repeating: [], count: ids.count)
    }

    public var count: Int { ids.count }
}

/// The data a model reads besides its weights, for every known user and item: side features
/// and each user's recent items. It comes from the store; an ID-only model needs none of it.
public struct ModelInputs: Sendable {
    public var userFeatures: EntityFeatures?
    public var itemFeatures: EntityFeatures?
    /// Per user: recent items, oldest first (only the last `HistorySpec.length` are used).
    public var histories: [[Int32]]

    public init(userFeatures: EntityFeatures? = nil, itemFeatures: EntityFeatures? = nil, histories: [[Int32]] = []) {
        self.userFeatures = userFeatures
        self.itemFeatures = itemFeatures
        self.histories = histories
    }

    public static let none = ModelInputs()

    /// The user-tower batch for `users`; `excluding` drops each row's target item from its history.
    public func userBatch(_ users: [Int32], historyLength: Int, excluding targets: [Int32]? = nil) -> TowerBatch {
        let features = userFeatures?.rows(users)
        var recent: [[Int32]]? = nil
        if historyLength > 0 {
            recent = users.enumerated().map { r, u in
                guard u >= 0, Int(u) < histories.count else { return [] }
                let all = histories[Int(u)]
                if let targets {
                    var kept: [Int32] = []
                    kept.reserveCapacity(historyLength)
                    for item in all.reversed() where item != targets[r] {
                        kept.append(item)
                        if kept.count == historyLength { break }
                    }
                    return kept.reversed()
                }
                return Array(all.suffix(historyLength))
            }
        }
        return TowerBatch(ids: users, tokens: features?.tokens, numeric: features?.numeric, histories: recent)
    }

    public func itemBatch(_ items: [Int32]) -> TowerBatch {
        let features = itemFeatures?.rows(items)
        return TowerBatch(ids: items, tokens: features?.tokens, numeric: features?.numeric)
    }
}
