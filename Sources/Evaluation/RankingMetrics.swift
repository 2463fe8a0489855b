/// Full-ranking metrics as `../shared/EVAL.md` defines them, averaged over the evaluated users.
///
/// Keys are `"<metric>@<k>"` for metric in recall, ndcg, hitrate, mrr, precision, as the JSON of
/// `twotower evaluate` prints them.
public struct RankingMetrics: Codable, Sendable, Equatable {
    public var values: [String: Double]
    /// Users with at least one held-out item, over whom the metrics are averaged.
    public var users: Int

    public subscript(_ key: String) -> Double? { values[key] }

    public init(values: [String: Double], users: Int) {
        self.values = values
        self.users = users
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        for (k, v) in values { try c.encode(v, forKey: DynamicKey(k)) }
        try c.encode(users, forKey: DynamicKey("users"))
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: DynamicKey.self)
        var values: [String: Double] = [:]
        var users = 0
        for key in c.allKeys {
            if key.stringValue == "users" { users = try c.decode(Int.self, forKey: key) } else { values[key.stringValue] = try c.decode(Double.self, forKey: key) }
        }
        self.init(values: values, users: users)
    }

    /// A coding key for the "<metric>@<k>" names.
    public struct DynamicKey: CodingKey {
        public var stringValue: String
        public var intValue: Int? { nil }
        public init(_ s: String) { stringValue = s }
        public init?(stringValue: String) { self.stringValue = stringValue }
        public init?(intValue: Int) { nil }
    }
}

/// Sums of per-user metrics, merged across threads and then averaged.
struct MetricSums: Sendable {
    let ks: [Int]
    var recall: [Double], ndcg: [Double], hit: [Double], mrr: [Double], precision: [Double]
    var users = 0

    init(ks: [Int]) {
        self.ks = ks
        recall = Array(repeating: 0, count: ks.count)
        ndcg = recall; hit = recall; mrr = recall; precision = recall
    }

    /// Adds one user: `ranked` is the top max(ks) item ids, best first; `relevant` the held-out set.
    mutating func add(ranked: [Int32], relevant: Set<Int32>) {
        guard !relevant.isEmpty else { return }
        users += 1
        for (i, k) in ks.enumerated() {
            var hits = 0, dcg = 0.0, firstHit = 0
            for (rank, item) in ranked.prefix(k).enumerated() where relevant.contains(item) {
                hits += 1
                dcg += 1 / log2(Double(rank + 2))
                if firstHit == 0 { firstHit = rank + 1 }
            }
            let ideal = (0..<min(k, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
            recall[i] += Double(hits) / Double(relevant.count)
            ndcg[i] += dcg / ideal
            hit[i] += hits > 0 ? 1 : 0
            mrr[i] += firstHit > 0 ? 1 / Double(firstHit) : 0
            precision[i] += Double(hits) / Double(k)
        }
    }

    mutating func merge(_ other: MetricSums) {
        users += other.users
        for i in ks.indices {
            recall[i] += other.recall[i]; ndcg[i] += other.ndcg[i]; hit[i] += other.hit[i]
            mrr[i] += other.mrr[i]; precision[i] += other.precision[i]
        }
    }

    var metrics: RankingMetrics {
        var values: [String: Double] = [:]
        let n = Double(max(users, 1))
        for (i, k) in ks.enumerated() {
            values["recall@\(k)"] = recall[i] / n
            values["ndcg@\(k)"] = ndcg[i] / n
            values["hitrate@\(k)"] = hit[i] / n
            values["mrr@\(k)"] = mrr[i] / n
            values["precision@\(k)"] = precision[i] / n
        }
        return RankingMetrics(values: values, users: users)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
