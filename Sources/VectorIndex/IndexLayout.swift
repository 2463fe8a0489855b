import Foundation
import LMDB

/// How vectors are stored in the inverted lists.
public enum VectorEncoding: String, Codable, Sendable, CaseIterable {
    /// float32, scanned exactly.
    case flat
    /// One byte per dimension (per-dimension min/max scalar quantisation), scanned directly;
    /// the best candidates are re-ranked with full-precision vectors kept beside the lists.
    case sq8
}

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

/// The LMDB layout of one index version (one LMDB environment directory).
///
/// Databases:
/// - `meta`: `"meta"` → `IndexMetadata` as JSON; `"centroids"` → nlist × d float32, row-major;
///   `"sq8"` → d float32 minimums then d float32 steps (SQ8 only).
/// - `lists`: key = list (UInt32, big-endian) ‖ chunk (UInt32, big-endian), so one list's chunks
///   are adjacent and in order. Value = count × Int64 ids, then count vectors (count × d float32
///   for flat, count × d bytes for SQ8), so a scan reads one run of memory.
///   Every chunk but a list's last holds exactly `chunkCapacity` vectors.
/// - `ids`: key = id (Int64 with the sign bit flipped, big-endian, so keys sort as numbers) →
///   list (UInt32) ‖ position in the list (UInt32): for updates and deletes.
/// - `vectors` (SQ8 only): id key → d float32, the full-precision vector for re-ranking.
enum IndexLayout {
    static let formatVersion = 1
    static let defaultChunkCapacity = 1_024
    static let databases = ["meta", "lists", "ids", "vectors"]

    static func listKey(_ list: Int, _ chunk: Int) -> [UInt8] {
        let l = UInt32(list).bigEndian, c = UInt32(chunk).bigEndian
        return withUnsafeBytes(of: l) { Array($0) } + withUnsafeBytes(of: c) { Array($0) }
    }

    static func decodeListKey(_ key: UnsafeRawBufferPointer) -> (list: Int, chunk: Int) {
        (Int(UInt32(bigEndian: key.loadUnaligned(as: UInt32.self))),
         Int(UInt32(bigEndian: key.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
    }

    static func idKey(_ id: Int64) -> [UInt8] {
        let ordered = (UInt64(bitPattern: id) ^ (1 << 63)).bigEndian
        return withUnsafeBytes(of: ordered) { Array($0) }
    }

    static func location(_ list: Int, _ position: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(list)) { Array($0) } + withUnsafeBytes(of: UInt32(position)) { Array($0) }
    }

    static func decodeLocation(_ value: UnsafeRawBufferPointer) -> (list: Int, position: Int) {
        (Int(value.loadUnaligned(as: UInt32.self)), Int(value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    }

    /// Bytes per stored vector (without its id).
    static func vectorBytes(_ encoding: VectorEncoding, dimension d: Int) -> Int {
        encoding == .flat ? 4 * d : d
    }

    static func encodeMetadata(_ m: IndexMetadata) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(m))
    }

    static func decodeMetadata(_ bytes: UnsafeRawBufferPointer, path: String) throws -> IndexMetadata {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // Check the version before the rest, so a future format is reported as such.
        struct Version: Decodable { var formatVersion: Int }
        let data = Data(bytes)
        guard let version = try? decoder.decode(Version.self, from: data) else {
            throw IndexError.notAnIndex(path: path, reason: "its metadata is unreadable")
        }
        if version.formatVersion > formatVersion {
            throw IndexError.formatFromTheFuture(path: path, found: version.formatVersion, supported: formatVersion)
        }
        do {
            return try decoder.decode(IndexMetadata.self, from: data)
        } catch {
            throw IndexError.notAnIndex(path: path, reason: "its metadata is unreadable: \(error)")
        }
    }
}
