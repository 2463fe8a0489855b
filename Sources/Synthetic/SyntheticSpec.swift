
/// The recipe for a synthetic interaction data set with planted structure.
///
/// Users and items get latent factors drawn around `clusters` centres. Each user has a primary and
/// a secondary cluster of interest and drifts from the first toward the second over time; each
/// interaction picks a cluster, draws `candidates` items from it by Zipf-like popularity and keeps
/// the one closest to the user's factor. Side features are noisy views of the clusters. So a
/// two-tower model has something real to learn from ids, history and features alike, and a
/// popularity baseline is clearly beaten when it does.
public struct SyntheticSpec: Codable, Sendable, Equatable {
    public var users = 4_000
    public var items = 2_000
    public var clusters = 24
    /// Dimension of the planted latent factors.
    public var latentDimension = 16
    /// Spread of factors around their cluster centre (centres have unit norm).
    public var clusterSpread = 0.5
    /// Interactions per user: a minimum plus an exponential tail with this mean.
    public var minInteractionsPerUser = 5
    public var meanInteractionsPerUser = 30
    /// Exponent of the Zipf law over item popularity ranks.
    public var zipfExponent = 0.9
    /// Probability an interaction comes from the primary cluster at the start of a user's history;
    /// the secondary cluster takes over `drift` of it by the end.
    public var primaryProbability = 0.8
    public var drift = 0.4
    /// Probability an interaction is popularity noise from the whole catalogue.
    public var noiseProbability = 0.05
    /// Items drawn per interaction; the closest to the user's factor wins.
    public var candidates = 4
    /// Probability a side feature shows the true cluster (else a random one).
    public var featureFidelity = 0.7
    /// First timestamp (epoch seconds) and the mean gap between a user's interactions.
    public var startTime: Int64 = 1_600_000_000
    public var meanGapSeconds = 43_200.0
    public var seed: UInt64 = 42

    public init() {}

    /// Checks the recipe is generable; the message names the bad field and value.
    public func validate() throws {
        func fail(_ field: String, _ value: Any, _ why: String) -> SyntheticError {
            SyntheticError.invalidSpec("\(field) = \(value): \(why)")
        }
        guard users > 0 else { throw fail("users", users, "must be positive") }
        guard items >= 2 else { throw fail("items", items, "must be at least 2") }
        guard clusters >= 2, clusters <= items else { throw fail("clusters", clusters, "must be in 2…items") }
        guard latentDimension > 0 else { throw fail("latent_dimension", latentDimension, "must be positive") }
        guard minInteractionsPerUser >= 1 else { throw fail("min_interactions_per_user", minInteractionsPerUser, "must be at least 1") }
        guard meanInteractionsPerUser >= minInteractionsPerUser else {
            throw fail("mean_interactions_per_user", meanInteractionsPerUser, "must be at least min_interactions_per_user")
        }
        guard candidates >= 1 else { throw fail("candidates", candidates, "must be at least 1") }
        for (name, p) in [("primary_probability", primaryProbability), ("drift", drift),
                          ("noise_probability", noiseProbability), ("feature_fidelity", featureFidelity)] {
            guard (0...1).contains(p) else { throw fail(name, p, "must be a probability in 0…1") }
        }
        guard clusterSpread >= 0, zipfExponent >= 0, meanGapSeconds > 0 else {
            throw SyntheticError.invalidSpec("cluster_spread, zipf_exponent must be ≥ 0 and mean_gap_seconds > 0")
        }
    }
}

public enum SyntheticError: Error, CustomStringConvertible {
    case invalidSpec(String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSpec(let m): "invalid synthetic spec: \(m)"
        case let .cannotWrite(path, reason): "cannot write \(path): \(reason)"
        }
    }
}
