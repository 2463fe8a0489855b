import CKernels
import Foundation
import LinearAlgebra
import Randomness

/// Product quantisation of residuals with 4-bit codes, scanned FAISS-style ("fast-scan"): the
/// residual (vector − its list's centroid) is cut into M sub-vectors of d/M dimensions, each
/// replaced by the nearest of 16 centroids learned for that sub-space, so a vector costs M/2 bytes.
///
/// Codes are packed in blocks of 32 vectors: for each pair of sub-quantizers (2p, 2p+1), 32 bytes,
/// byte i holding vector i's code for 2p in its low nibble and for 2p+1 in its high one. A query
/// turns its inner products with the 16 centroids of every sub-space into a lookup table of M × 16
/// bytes (shifted by each sub-space's minimum, scaled by one common factor), and scores a block
/// with two in-register byte shuffles per pair of sub-quantizers (`tt_pq4_scan`). The scores are
/// approximate; the best candidates are re-ranked with the full-precision vectors the chunks keep.
/// Inner product and cosine only.
public struct PQ4Encoding: ListEncoding, Equatable {
    public let dimension: Int
    /// Sub-quantizers.
    public let m: Int
    /// m × 16 × (d/m) floats: sub-space s, centroid j at (s·16 + j)·(d/m).
    public let codebooks: [Float]

    public var subDimension: Int { dimension / m }
    public var codeBytes: Int { m }
    public var keepsFullVectors: Bool { true }
    var blockBytes: Int { (m + 1) / 2 * 32 }
    public func packedBytes(count: Int) -> Int { (count + 31) / 32 * blockBytes }

    /// The sub-quantizers a dimension is cut into by default: two dimensions each (FAISS's
    /// `PQ<d/2>x4fs`), at most 64.
    public static func defaultSubQuantizers(dimension d: Int) -> Int {
        var m = min(max(d / 2, 1), 64)
        while d % m != 0 { m -= 1 }
        return m
    }

    /// Learns the codebooks from the residuals of (a seeded sample of at most 65,536) vectors.
    public init(residualsOf vectors: Matrix, centroids: Matrix, assignment: [Int32], subQuantizers m: Int, seed: UInt64) throws {
        let d = vectors.cols
        guard m >= 1, m <= 64, d % m == 0 else {
            throw IndexError.badParameter("pq4: \(m) sub-quantizers must divide dimension \(d) and be at most 64")
        }
        self.dimension = d
        self.m = m
        let ds = d / m
        var rng = SplitMix64(seed: seed &+ 977)
        let n = vectors.rows, sample = min(n, 65_536)
        var rows = Array(0..<n)
        for i in 0..<sample { rows.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
        var books = [Float](repeating: 0, count: m * 16 * ds)
        for s in 0..<m {
            var sub = Matrix(rows: sample, cols: ds)
            for (i, r) in rows.prefix(sample).enumerated() {
                let c = Int(assignment[r])
                for j in 0..<ds { sub[i, j] = vectors[r, s * ds + j] - centroids[c, s * ds + j] }
            }
            var p = KMeansParameters(k: min(16, sample))
            p.iterations = 25
            p.trainSample = sample
            p.seed = seed &+ UInt64(s)
            p.threads = 1
            let result = try KMeans.train(sub, parameters: p)
            for j in 0..<result.centroids.rows { for t in 0..<ds { books[(s * 16 + j) * ds + t] = result.centroids[j, t] } }
        }
        codebooks = books
    }

    init(dimension: Int, m: Int, codebooks: [Float]) {
        self.dimension = dimension
        self.m = m
        self.codebooks = codebooks
    }

    public func encode(_ x: UnsafePointer<Float>, centroid: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        let ds = subDimension
        codebooks.withUnsafeBufferPointer { books in
            for s in 0..<m {
                var best = 0, bestDistance = Float.infinity
                for j in 0..<16 {
                    var distance: Float = 0
                    let c = books.baseAddress! + (s * 16 + j) * ds
                    for t in 0..<ds {
                        let e = x[s * ds + t] - centroid[s * ds + t] - c[t]
                        distance += e * e
                    }
                    if distance < bestDistance { bestDistance = distance; best = j }
                }
                code[s] = UInt8(best)
            }
        }
    }

    public func pack(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutableRawPointer) {
        let bytes = out.assumingMemoryBound(to: UInt8.self)
        bytes.update(repeating: 0, count: packedBytes(count: count))
        for v in 0..<count {
            let block = bytes + (v / 32) * blockBytes, lane = v % 32
            for s in 0..<m {
                let nibble = codes[v * m + s] & 0x0F
                block[(s / 2) * 32 + lane] |= s % 2 == 0 ? nibble : nibble << 4
            }
        }
    }

    public func unpack(_ packed: UnsafeRawPointer, count: Int, into codes: UnsafeMutablePointer<UInt8>) {
        let bytes = packed.assumingMemoryBound(to: UInt8.self)
        for v in 0..<count {
            let block = bytes + (v / 32) * blockBytes, lane = v % 32
            for s in 0..<m {
                let byte = block[(s / 2) * 32 + lane]
                codes[v * m + s] = s % 2 == 0 ? byte & 0x0F : byte >> 4
            }
        }
    }

    public func decode(_ code: UnsafePointer<UInt8>, centroid: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let ds = subDimension
        for s in 0..<m {
            for t in 0..<ds { out[s * ds + t] = centroid[s * ds + t] + codebooks[(s * 16 + Int(code[s])) * ds + t] }
        }
    }

    public func scanner(for query: [Float], metric: Metric) -> any ListScanner {
        // The table of inner products, then its bytes: each sub-space shifted by its minimum,
        // all scaled by one factor so the widest spans 0…255 (a sum of m entries fits 16 bits).
        var lut = [UInt8](repeating: 0, count: m * 16)
        var offset: Float = 0, inverseScale: Float = 1
        tt_pq4_table(query, codebooks, m, subDimension, &lut, &offset, &inverseScale)
        return Scanner(m: m, lut: lut, offset: offset, inverseScale: inverseScale)
    }

    struct Scanner: ListScanner {
        let m: Int
        let lut: [UInt8]
        let offset: Float
        let inverseScale: Float
        var base: Float = 0

        mutating func begin(list: Int, centroidScore: Float) { base = centroidScore + offset }

        func scores(_ packed: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
            lut.withUnsafeBufferPointer { l in
                tt_pq4_scan(packed.assumingMemoryBound(to: UInt8.self), count, m, l.baseAddress!, base, inverseScale, out)
            }
        }
    }

    /// m (UInt32), then the codebooks.
    public var serialized: [UInt8] {
        withUnsafeBytes(of: UInt32(m).littleEndian) { Array($0) } + codebooks.withUnsafeBytes { Array($0) }
    }

    static func deserialize(_ bytes: UnsafeRawBufferPointer, dimension d: Int) -> PQ4Encoding? {
        guard bytes.count >= 4 else { return nil }
        let m = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard m >= 1, m <= 64, d % m == 0, bytes.count == 4 + 4 * m * 16 * (d / m) else { return nil }
        let books = (0..<(m * 16 * (d / m))).map { bytes.loadUnaligned(fromByteOffset: 4 + 4 * $0, as: Float.self) }
        return PQ4Encoding(dimension: d, m: m, codebooks: books)
    }
}
