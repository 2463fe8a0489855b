import Foundation
import Randomness

/// What a generation run produced, and the planted truth for checks.
public struct SyntheticSummary: Codable, Sendable {
    public var users: Int
    public var items: Int
    public var interactions: Int
    /// The files written: `interactions.csv`, `users.csv`, `items.csv`.
    public var files: [String]
    /// Fraction of interactions drawn from the user's primary cluster (a measure of the structure).
    public var primaryClusterShare: Double
}

/// Generates a `SyntheticSpec` data set into a directory as delimited files:
/// - `interactions.csv`: `user,item,timestamp` (raw ids `u<n>`, `i<n>`), in user order;
/// - `users.csv`: `user,segment,age:numeric,country`;
/// - `items.csv`: `item,category,tags:multihot,price:numeric`.
/// Files are streamed (memory holds factors, not interactions) and appear atomically.
/// The same spec and seed give byte-identical files.
public struct SyntheticGenerator {
    public let spec: SyntheticSpec

    public init(spec: SyntheticSpec) { self.spec = spec }

    /// Writes the data set into `directory` (created when missing).
    /// - Parameter progress: called with the number of users done, every few thousand users.
    public func generate(into directory: String, progress: ((Int) -> Void)? = nil) throws -> SyntheticSummary {
        try spec.validate()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let s = spec
        var rng = SplitMix64(seed: s.seed)
        let d = s.latentDimension

        // Cluster centres on the unit sphere; factors scattered around them.
        func unitVector(around centre: ArraySlice<Float>?, spread: Double) -> [Float] {
            var v = (0..<d).map { i in Float((centre.map { Double($0[$0.startIndex + i]) } ?? 0) + spread * rng.nextGaussian()) }
            let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for i in v.indices { v[i] /= norm }
            return v
        }
        var centres: [Float] = []
        for _ in 0..<s.clusters { centres += unitVector(around: nil, spread: 1) }
        func centre(_ k: Int) -> ArraySlice<Float> { centres[(k * d)..<((k + 1) * d)] }

        // Items: cluster, factor, popularity by a random Zipf rank.
        var itemCluster = [Int](repeating: 0, count: s.items)
        var itemFactors = [Float](repeating: 0, count: s.items * d)
        for i in 0..<s.items {
            itemCluster[i] = i < s.clusters ? i : Int(rng.next() % UInt64(s.clusters))  // every cluster non-empty
            itemFactors.replaceSubrange((i * d)..<((i + 1) * d), with: unitVector(around: centre(itemCluster[i]), spread: s.clusterSpread))
        }
        var ranks = Array(0..<s.items)
        ranks.shuffle(using: &rng)
        let popularity = ranks.map { 1 / pow(Double($0 + 1), s.zipfExponent) }
        var members = [[Int]](repeating: [], count: s.clusters)
        for i in 0..<s.items { members[itemCluster[i]].append(i) }
        let perCluster = members.map { AliasTable(weights: $0.map { popularity[$0] }) }
        let global = AliasTable(weights: popularity)

        let interactionsFile = (directory as NSString).appendingPathComponent("interactions.csv")
        let usersFile = (directory as NSString).appendingPathComponent("users.csv")
        let itemsFile = (directory as NSString).appendingPathComponent("items.csv")

        try writeItems(itemsFile, clusters: itemCluster, popularity: ranks, rng: &rng)

        let interactionsOut = try BufferedFileWriter(path: interactionsFile)
        let usersOut = try BufferedFileWriter(path: usersFile)
        try interactionsOut.write("user,item,timestamp\n")
        try usersOut.write("user,segment,age:numeric,country\n")
        var total = 0, fromPrimary = 0
        let span = Double(s.meanInteractionsPerUser) * s.meanGapSeconds * 4
        var seen = Set<Int>()
        for u in 0..<s.users {
            let primary = Int(rng.next() % UInt64(s.clusters))
            var secondary = Int(rng.next() % UInt64(s.clusters - 1))
            if secondary >= primary { secondary += 1 }
            let factor = unitVector(around: centre(primary), spread: s.clusterSpread)
            let extra = Int(rng.nextExponential(mean: Double(s.meanInteractionsPerUser - s.minInteractionsPerUser)))
            let count = min(s.minInteractionsPerUser + extra, s.items / 2)
            var time = Double(s.startTime) + rng.nextUnit() * span
            seen.removeAll(keepingCapacity: true)
            for t in 0..<count {
                let shift = s.drift * Double(t) / Double(max(count - 1, 1))
                let r = rng.nextUnit()
                var item = -1
                for _ in 0..<20 {  // retry draws that repeat an item the user already has
                    if r < s.noiseProbability {
                        item = global.sample(using: &rng)
                    } else {
                        let k = rng.nextUnit() < s.primaryProbability - shift ? primary : secondary
                        item = bestCandidate(factor, cluster: members[k], table: perCluster[k], items: itemFactors, rng: &rng)
                    }
                    if !seen.contains(item) { break }
                }
                if seen.contains(item) { continue }
                seen.insert(item)
                if itemCluster[item] == primary { fromPrimary += 1 }
                time += rng.nextExponential(mean: s.meanGapSeconds)
                try interactionsOut.write("u\(u),i\(item),\(Int64(time))\n")
                total += 1
            }
            let segment = rng.nextUnit() < s.featureFidelity ? primary : Int(rng.next() % UInt64(s.clusters))
            let age = 18 + Double(3 * (primary % 12)) + 4 * rng.nextGaussian()
            let country = rng.next() % 8
            try usersOut.write("u\(u),s\(segment),\(String(format: "%.1f", age)),c\(country)\n")
            if u % 5_000 == 4_999 { progress?(u + 1) }
        }
        try usersOut.commit()
        try interactionsOut.commit()
        progress?(s.users)
        return SyntheticSummary(users: s.users, items: s.items, interactions: total,
                                files: [interactionsFile, usersFile, itemsFile],
                                primaryClusterShare: total == 0 ? 0 : Double(fromPrimary) / Double(total))
    }

    private func bestCandidate(_ user: [Float], cluster: [Int], table: AliasTable, items: [Float],
                               rng: inout SplitMix64) -> Int {
        let d = spec.latentDimension
        var best = -1
        var bestScore = -Float.infinity
        for _ in 0..<spec.candidates {
            let item = cluster[table.sample(using: &rng)]
            var score: Float = 0
            for j in 0..<d { score += user[j] * items[item * d + j] }
            if score > bestScore { bestScore = score; best = item }
        }
        return best
    }

    private func writeItems(_ path: String, clusters: [Int], popularity ranks: [Int], rng: inout SplitMix64) throws {
        let s = spec
        let out = try BufferedFileWriter(path: path)
        try out.write("item,category,tags:multihot,price:numeric\n")
        for i in 0..<s.items {
            let k = clusters[i]
            let category = rng.nextUnit() < s.featureFidelity ? k : Int(rng.next() % UInt64(s.clusters))
            let own = (0..<2).map { _ in "t\(k * 3 + Int(rng.next() % 3))" }
            let random = "t\(Int(rng.next() % UInt64(3 * s.clusters)))"
            let tags = Array(Set(own + [random])).sorted().joined(separator: "|")
            let price = exp(log(5 + Double(k % 10) * 3) + 0.3 * rng.nextGaussian())
            try out.write("i\(i),c\(category),\(tags),\(String(format: "%.2f", price))\n")
        }
        try out.commit()
    }
}
