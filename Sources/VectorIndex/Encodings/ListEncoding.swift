import CKernels
import LinearAlgebra

/// How vectors are stored in the inverted lists.
public enum VectorEncoding: String, Codable, Sendable, CaseIterable {
    /// float32, scanned exactly.
    case flat
    /// One byte per dimension (per-dimension scalar quantisation of the residual to the list's
    /// centroid), scanned directly; the best candidates are re-ranked with full-precision vectors.
    case sq8
    /// Product quantisation of the residual, 4 bits per sub-vector, codes packed in blocks of 32
    /// vectors and scanned through in-register lookup tables (FAISS's fast-scan); the best
    /// candidates are re-ranked with full-precision vectors.
    case pq4
}

/// One encoding of the vectors in the inverted lists: how a vector becomes a code, how codes
/// are laid out in a chunk, how a query scores a chunk of codes, and whether full-precision
/// copies are kept for re-ranking. `IVFIndex` probes lists and merges results without knowing
/// which encoding it reads; `InvertedLists` stores the bytes without knowing what they mean.
public protocol ListEncoding: Sendable {
    var dimension: Int { get }
    /// Bytes of one vector's code before packing (what `encode` writes).
    var codeBytes: Int { get }
    /// Whether chunks also hold each vector in float32 (for re-ranking and reading back).
    var keepsFullVectors: Bool { get }
    /// Bytes `count` codes take in a chunk once packed.
    func packedBytes(count: Int) -> Int
    /// The code of `x` (a vector of the list whose centroid is `centroid`) into `code`.
    func encode(_ x: UnsafePointer<Float>, centroid: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>)
    /// Packs `count` codes (`count × codeBytes`, vector by vector) into a chunk's layout.
    func pack(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutableRawPointer)
    /// The inverse of `pack`.
    func unpack(_ packed: UnsafeRawPointer, count: Int, into codes: UnsafeMutablePointer<UInt8>)
    /// A scorer of chunks for one query (prepared: normalised for cosine).
    func scanner(for query: [Float], metric: Metric) -> any ListScanner
    /// The vector a code stands for (only for encodings that keep no full vectors).
    func decode(_ code: UnsafePointer<UInt8>, centroid: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>)
    /// What the metadata's `codec` entry holds (training results: ranges, codebooks).
    var serialized: [UInt8] { get }
}

/// Scores one query against chunks of codes, list by list.
public protocol ListScanner {
    /// Called before the chunks of a list: its index and the query's score against its centroid.
    mutating func begin(list: Int, centroidScore: Float)
    /// Higher-is-better (approximate, for encodings that re-rank) scores of `count` packed codes.
    mutating func scores(_ packed: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>)
}

extension VectorEncoding {
    /// Whether searches re-rank candidates with full-precision vectors.
    public var reranks: Bool { self != .flat }

    /// The encoding's parameters from the metadata's `codec` bytes.
    func decode(_ bytes: UnsafeRawBufferPointer, dimension d: Int, metric: Metric) -> (any ListEncoding)? {
        switch self {
        case .flat: FlatEncoding(dimension: d)
        case .sq8: SQ8Encoding.deserialize(bytes, dimension: d)
        case .pq4: PQ4Encoding.deserialize(bytes, dimension: d)
        }
    }
}

/// float32 vectors, stored as they are; scans are exact.
public struct FlatEncoding: ListEncoding {
    public let dimension: Int
    public init(dimension: Int) { self.dimension = dimension }

    public var codeBytes: Int { 4 * dimension }
    public var keepsFullVectors: Bool { false }
    public func packedBytes(count: Int) -> Int { count * codeBytes }

    public func encode(_ x: UnsafePointer<Float>, centroid: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(code).copyMemory(from: x, byteCount: codeBytes)
    }

    public func pack(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutableRawPointer) {
        out.copyMemory(from: codes, byteCount: count * codeBytes)
    }

    public func unpack(_ packed: UnsafeRawPointer, count: Int, into codes: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(codes).copyMemory(from: packed, byteCount: count * codeBytes)
    }

    public func decode(_ code: UnsafePointer<UInt8>, centroid: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).copyMemory(from: code, byteCount: codeBytes)
    }

    public func scanner(for query: [Float], metric: Metric) -> any ListScanner { FullVectorScanner(query: query, metric: metric) }

    public var serialized: [UInt8] { [] }
}

/// Exact scores of float32 vectors (flat lists, and the re-ranking of the other encodings).
struct FullVectorScanner: ListScanner {
    let query: [Float]
    let metric: Metric

    mutating func begin(list: Int, centroidScore: Float) {}

    func scores(_ packed: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        FullVectorScanner.score(query, packed.assumingMemoryBound(to: Float.self), count: count, metric: metric, into: out)
    }

    /// Higher-is-better scores of `query` against `count` float vectors: inner products, or the
    /// negated squared L2 distances.
    static func score(_ query: [Float], _ vectors: UnsafePointer<Float>, count: Int, metric: Metric, into out: UnsafeMutablePointer<Float>) {
        query.withUnsafeBufferPointer { q in
            if metric == .l2 {
                tt_l2_squared(q.baseAddress!, vectors, count, q.count, out)
                for i in 0..<count { out[i] = -out[i] }
            } else {
                tt_inner_products(q.baseAddress!, vectors, count, q.count, out)
            }
        }
    }
}
