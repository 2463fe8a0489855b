import Foundation
import LMDB

/// What an index version records about itself (the `meta` entry of the `meta` database).
public struct IndexMetadata: Codable, Sendable, Equatable {
    public var formatVersion: Int
    public var dimension: Int
    public var metric: Metric
    public var nlist: Int
    public var count: Int
    public var encoding: VectorEncoding
    /// Vectors per list chunk (a chunk is one LMDB value).
    public var chunkCapacity: Int
    /// Where the vectors came from (a file, a model checkpoint or run).
    public var source: String
    public var builtAt: String
    public var buildSeconds: Double
    /// Set in the build's last write: an index without it is an interrupted build.
    public var complete: Bool
    /// The search setting measured at build time to reach a target recall (nil for an index built
    /// without calibration, or by an older TwoTower).
    public var calibration: IndexCalibration?
    /// Why the build chose this layout, when it chose (for example an exact single list because
    /// scanning everything was as fast as the calibrated IVF search).
    public var layoutNote: String?

    /// The nprobe a search uses when it does not say: the calibrated one, else 8 (at most nlist).
    public var defaultNprobe: Int { min(calibration?.nprobe ?? 8, nlist) }
    /// The re-rank factor a search uses when it does not say (SQ8 and PQ4 encodings).
    public var defaultRerankFactor: Int { calibration?.rerankFactor ?? SearchParameters().rerankFactor }
}

/// What a build measured to choose the default search setting: ANN recall@10 against exact
/// search over held-out queries for a sweep of settings, and the smallest that reaches the target.
public struct IndexCalibration: Codable, Sendable, Equatable {
    /// One measured setting.
    public struct Point: Codable, Sendable, Equatable {
        public var nprobe: Int
        public var rerankFactor: Int
        public var recallAt10: Double
        /// Single-thread queries per second, one query at a time, k = 10.
        public var qps: Double

        public init(nprobe: Int, rerankFactor: Int, recallAt10: Double, qps: Double) {
            self.nprobe = nprobe
            self.rerankFactor = rerankFactor
            self.recallAt10 = recallAt10
            self.qps = qps
        }
    }

    /// The recall@10 the setting was chosen to reach.
    public var targetRecall: Double
    /// The chosen setting: the fastest measured one that reaches the target (or the most
    /// accurate one when none does), and its measured recall.
    public var nprobe: Int
    public var rerankFactor: Int
    public var recallAt10: Double
    /// Whether the chosen setting reaches the target.
    public var reached: Bool
    /// The queries it was measured on ("users.npy (1,000 rows)", "1,000 held-out item vectors").
    public var queries: String
    public var curve: [Point]
    /// Single-thread queries per second of an exact scan over the same vectors.
    public var exactQPS: Double?

    // Stored through snake_case key conversion, which reads "exact_qps" back as "exactQps".
    enum CodingKeys: String, CodingKey {
        case targetRecall, nprobe, rerankFactor, recallAt10, reached, queries, curve
        case exactQPS = "exactQps"
    }

    public init(targetRecall: Double, nprobe: Int, rerankFactor: Int, recallAt10: Double, reached: Bool, queries: String,
                curve: [Point], exactQPS: Double?) {
        self.targetRecall = targetRecall
        self.nprobe = nprobe
        self.rerankFactor = rerankFactor
        self.recallAt10 = recallAt10
        self.reached = reached
        self.queries = queries
        self.curve = curve
        self.exactQPS = exactQPS
    }
}

/// How index metadata is stored: JSON (snake_case keys) under `"meta"` in the lists' named values.
enum MetadataCoding {
    /// 2: chunks with a count header, full vectors beside the codes, 12-byte locations.
    static let formatVersion = 2

    static func encode(_ m: IndexMetadata) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(m))
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> IndexMetadata {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // Check the version before the rest, so another format is reported as such.
        struct Version: Decodable { var formatVersion: Int }
        let data = Data(bytes)
        guard let version = try? decoder.decode(Version.self, from: data) else {
            throw IndexError.notAnIndex(path: path, reason: "its metadata is unreadable")
        }
        if version.formatVersion > formatVersion {
            throw IndexError.formatFromTheFuture(path: path, found: version.formatVersion, supported: formatVersion)
        }
        if version.formatVersion < formatVersion {
            throw IndexError.formatTooOld(path: path, found: version.formatVersion, supported: formatVersion)
        }
        do {
            return try decoder.decode(IndexMetadata.self, from: data)
        } catch {
            throw IndexError.notAnIndex(path: path, reason: "its metadata is unreadable: \(error)")
        }
    }
}
