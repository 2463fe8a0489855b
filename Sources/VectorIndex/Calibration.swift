import Foundation
import LinearAlgebra
import Randomness

/// How a build measures its default search setting.
public struct CalibrationSettings: Sendable {
    /// The recall@10 against exact search the default setting must reach.
    public var targetRecall = 0.95
    /// The queries to measure on (the users' embeddings); nil samples the indexed vectors.
    public var queries: Matrix?
    /// What `queries` are, for the metadata ("users.npy").
    public var queriesName = ""
    /// Per query row, ids its searches exclude (a user's known items, which serving leaves out
    /// of their answers): recall is then measured as serving sees it, against the exact top-10 of
    /// what is left.
    public var exclusions: [[Int64]]?
    /// At most this many queries are used (a seeded sample).
    public var maxQueries = 1_000
    public var seed: UInt64 = 1

    public init(targetRecall: Double = 0.95, queries: Matrix? = nil, queriesName: String = "") {
        self.targetRecall = targetRecall
        self.queries = queries
        self.queriesName = queriesName
    }
}

/// Finds the fastest search setting that reaches a target recall: exact top-10 for a sample of
/// queries, then for each re-rank factor (largest first) the smallest nprobe whose recall@10
/// reaches the target, timed single-threaded one query at a time. A factor stops early once its
/// queries are slower than the best setting found so far (it cannot win), or once its recall has
/// stopped rising (its candidates, not the lists, are what it lacks).
enum IndexCalibrator {
    static let nprobes = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1_024,
                          1_536, 2_048, 3_072, 4_096, 6_144, 8_192, 12_288, 16_384, 24_576, 32_768, 49_152, 65_536]
    static let rerankFactors = [32, 16, 8, 4, 2, 1]

    static func calibrate(_ index: IVFIndex, base: Matrix, ids: [Int64], settings: CalibrationSettings, threads: Int,
                          progress: ((String) -> Void)?) throws -> IndexCalibration {
        let nlist = index.metadata.nlist
        var queries: Matrix
        var described: String
        // Per sampled query, the ids its exact and approximate results leave out: a held-out
        // indexed vector's own id (as for a query from outside the set), or the given exclusions.
        var excluded: [Set<Int64>]? = nil
        var rng = SplitMix64(seed: settings.seed &+ 0x9E37)
        if let given = settings.queries {
            guard given.cols == base.cols else {
                throw IndexError.dimensionMismatch(expected: base.cols, got: given.cols, what: "the calibration queries \(settings.queriesName)")
            }
            if let exclusions = settings.exclusions, exclusions.count != given.rows {
                throw IndexError.badParameter("\(exclusions.count) exclusion lists for \(given.rows) calibration queries")
            }
            try VectorFile.checkFinite(given, source: "the calibration queries \(settings.queriesName)")
            let rows = given.rows > settings.maxQueries ? KMeans.sampleRowNumbers(given.rows, count: settings.maxQueries, rng: &rng) : Array(0..<given.rows)
            queries = KMeans.rows(rows, of: given)
            excluded = settings.exclusions.map { e in rows.map { Set(e[$0]) } }
            described = "\(settings.queriesName.isEmpty ? "given queries" : settings.queriesName) (\(queries.rows) of \(given.rows) rows"
                + (excluded == nil ? ")" : ", their known items excluded)")
        } else {
            let rows = KMeans.sampleRowNumbers(base.rows, count: min(base.rows, settings.maxQueries), rng: &rng)
            queries = KMeans.rows(rows, of: base)
            excluded = rows.map { [ids[$0]] }
            described = "\(queries.rows) held-out indexed vectors"
        }
        index.metadata.metric.prepare(&queries)
        guard queries.rows > 0 else { throw IndexError.emptyInput("the calibration queries") }
        progress?("calibrating: exact top-10 of \(described)")
        let extra = excluded?.map(\.count).max() ?? 0
        var truth = ExactSearch.search(queries: queries, base: base, ids: ids, k: min(10 + extra, ids.count), metric: index.metadata.metric,
                                       threads: threads).map { $0.map(\.id) }
        if let excluded { truth = zip(truth, excluded).map { t, out in Array(t.filter { !out.contains($0) }.prefix(10)) } }
        let rows = (0..<queries.rows).map { Array(queries.row($0)) }
        let exactQPS = ExactSearch.queriesPerSecond(base: base, ids: ids, metric: index.metadata.metric,
                                                    queries: Matrix(rows: min(queries.rows, 64), cols: queries.cols,
                                                                    values: Array(queries.values.prefix(min(queries.rows, 64) * queries.cols))))
        let factors = index.encoding.keepsFullVectors ? rerankFactors : [1]
        let probes = nprobes.filter { $0 < nlist } + [nlist]
        var curve: [IndexCalibration.Point] = []
        var chosen: IndexCalibration.Point?
        var mostAccurate: IndexCalibration.Point?
        for factor in factors {
            for nprobe in probes {
                let point = try measure(index, rows: rows, excluding: excluded, truth: truth, nprobe: nprobe, rerankFactor: factor)
                curve.append(point)
                progress?("calibrating: nprobe \(nprobe)\(factors.count > 1 ? ", re-rank \(factor)·k" : ""): recall@10 \(String(format: "%.4f", point.recallAt10)), \(Int(point.qps)) queries/s")
                if mostAccurate.map({ point.recallAt10 > $0.recallAt10 }) ?? true { mostAccurate = point }
                if point.recallAt10 >= settings.targetRecall {
                    if chosen.map({ point.qps > $0.qps }) ?? true { chosen = point }
                    break
                }
                if let best = chosen, point.qps < best.qps { break }
                // A plateau: three more probes in a row gained less than 0.001 each.
                let mine = curve.filter { $0.rerankFactor == factor }.suffix(4).map(\.recallAt10)
                if mine.count == 4, zip(mine.dropFirst(), mine).allSatisfy({ $0 - $1 < 0.001 }) { break }
            }
        }
        let pick = chosen ?? mostAccurate!
        return IndexCalibration(targetRecall: settings.targetRecall, nprobe: pick.nprobe, rerankFactor: pick.rerankFactor,
                                recallAt10: pick.recallAt10, reached: chosen != nil, queries: described, curve: curve, exactQPS: exactQPS)
    }

    /// Recall@10 and single-thread queries per second of one setting (the queries repeated
    /// until 50 ms of work).
    static func measure(_ index: IVFIndex, rows: [[Float]], excluding excluded: [Set<Int64>]?, truth: [[Int64]], nprobe: Int,
                        rerankFactor: Int) throws -> IndexCalibration.Point {
        var parameters = SearchParameters(k: 10, nprobe: nprobe)
        parameters.rerankFactor = rerankFactor
        let settings = rows.indices.map { i -> SearchParameters in
            var p = parameters
            if let excluded { p.exclude = excluded[i] }
            return p
        }
        let started = Date()
        let found = try rows.indices.map { try index.search(rows[$0], parameters: settings[$0]).map(\.id) }
        var done = rows.count
        var elapsed = Date().timeIntervalSince(started)
        var i = 0
        while elapsed < 0.05 {
            _ = try index.search(rows[i % rows.count], parameters: settings[i % rows.count])
            done += 1
            i += 1
            if i % 16 == 0 { elapsed = Date().timeIntervalSince(started) }
        }
        elapsed = Date().timeIntervalSince(started)
        return IndexCalibration.Point(nprobe: nprobe, rerankFactor: rerankFactor,
                                      recallAt10: ANNEvaluation.recall(found, truth, k: 10), qps: Double(done) / elapsed)
    }
}
