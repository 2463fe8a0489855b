import CKernels
import Foundation
import LinearAlgebra
import Randomness
import Testing
@testable import VectorIndex

/// Encodings against naive references: codes decode within their error bound, packing round
/// trips, and each scan kernel scores like decoding and dotting.
struct SQ8EncodingTests {
    /// Residuals to a zero centroid, so codes stand for the vectors themselves.
    func trained(_ m: Matrix) -> SQ8Encoding {
        SQ8Encoding(residualsOf: m, centroids: Matrix(rows: 1, cols: m.cols), assignment: [Int32](repeating: 0, count: m.rows))
    }

    @Test func decodingErrorIsAtMostHalfAStep() {
        let m = randomMatrix(500, 16, seed: 4)
        let sq = trained(m)
        let zero = [Float](repeating: 0, count: 16)
        var code = [UInt8](repeating: 0, count: 16), back = [Float](repeating: 0, count: 16)
        for r in 0..<m.rows {
            let row = Array(m.row(r))
            sq.encode(row, centroid: zero, into: &code)
            sq.decode(code, centroid: zero, into: &back)
            for j in 0..<16 { #expect(abs(back[j] - row[j]) <= sq.steps[j] / 2 + 1e-6) }
        }
    }

    /// 37 codes: four blocks of eight plus a remainder; dimensions with and without a tail of 8.
    @Test(arguments: [1, 7, 24, 64, 100])
    func theSQ8ScanEqualsDecodingThenDotting(d: Int) {
        let n = 37
        let m = randomMatrix(n, d, seed: 5)
        let sq = trained(m)
        let q = Array(randomMatrix(1, d, seed: 6).values)
        let zero = [Float](repeating: 0, count: d)
        var codes = [UInt8](), code = [UInt8](repeating: 0, count: d)
        for r in 0..<n {
            sq.encode(Array(m.row(r)), centroid: zero, into: &code)
            codes += code
        }
        var scanner = sq.scanner(for: q, metric: .innerProduct)
        scanner.begin(list: 0, centroidScore: 0.5)
        var out = [Float](repeating: 0, count: n), decoded = [Float](repeating: 0, count: d)
        scanner.scores(codes, count: n, into: &out)
        for r in 0..<n {
            sq.decode(Array(codes[(r * d)..<((r + 1) * d)]), centroid: zero, into: &decoded)
            let dot = 0.5 + zip(q, decoded).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(out[r] - dot) < 1e-4 * Float(d + 10))
        }
    }
}

struct PQ4EncodingTests {
    /// A codebook trained on random residuals of `n` vectors to `lists` random centroids.
    func trained(n: Int, d: Int, m: Int, seed: UInt64) throws -> (PQ4Encoding, Matrix, Matrix, [Int32]) {
        let x = randomMatrix(n, d, seed: seed)
        let centroids = randomMatrix(3, d, seed: seed + 1)
        let assignment = (0..<n).map { Int32($0 % 3) }
        return (try PQ4Encoding(residualsOf: x, centroids: centroids, assignment: assignment, subQuantizers: m, seed: seed), x, centroids, assignment)
    }

    @Test(arguments: [(8, 4), (16, 8), (24, 3), (12, 12), (64, 32), (10, 5)])
    func encodingPicksTheNearestCentroidOfEverySubSpace(d: Int, m: Int) throws {
        let (pq, x, centroids, assignment) = try trained(n: 400, d: d, m: m, seed: UInt64(d * 100 + m))
        #expect(pq.codeBytes == m && pq.subDimension == d / m)
        let ds = d / m
        var code = [UInt8](repeating: 0, count: m)
        for r in stride(from: 0, to: 400, by: 37) {
            let c = Array(centroids.row(Int(assignment[r])))
            pq.encode(Array(x.row(r)), centroid: c, into: &code)
            for s in 0..<m {
                // Naive: the distance of the residual's sub-vector to each of the 16 centroids.
                let distances = (0..<16).map { j -> Float in
                    (0..<ds).reduce(Float(0)) { acc, t in
                        let e = x[r, s * ds + t] - c[s * ds + t] - pq.codebooks[(s * 16 + j) * ds + t]
                        return acc + e * e
                    }
                }
                #expect(distances[Int(code[s])] <= distances.min()! + 1e-6)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 8, 17, 32])
    func packingRoundTrips(m: Int) {
        let pq = PQ4Encoding(dimension: m, m: m, codebooks: [Float](repeating: 0, count: m * 16))
        var rng = SplitMix64(seed: UInt64(m))
        for count in [1, 31, 32, 33, 100] {
            let codes = (0..<(count * m)).map { _ in UInt8(rng.next() % 16) }
            var packed = [UInt8](repeating: 0xAA, count: pq.packedBytes(count: count))
            #expect(packed.count == (count + 31) / 32 * ((m + 1) / 2) * 32)
            pq.pack(codes, count: count, into: &packed)
            var back = [UInt8](repeating: 0, count: count * m)
            pq.unpack(packed, count: count, into: &back)
            #expect(back == codes)
        }
    }

    /// The vectorised kernel against the portable reference: odd and even m, partial blocks,
    /// table entries up to 255 (the 16-bit accumulators' worst case).
    @Test(arguments: [1, 2, 5, 16, 32, 64])
    func theFastScanKernelEqualsThePortableOne(m: Int) {
        var rng = SplitMix64(seed: UInt64(m) + 77)
        for count in [1, 32, 45, 200] {
            let blocks = (count + 31) / 32
            let packed = (0..<(blocks * (m + 1) / 2 * 32)).map { _ in UInt8(rng.next() % 256) }
            var lut = (0..<(m * 16)).map { _ in UInt8(rng.next() % 256) }
            lut[0] = 255
            var fast = [Float](repeating: 0, count: count), slow = [Float](repeating: 0, count: count)
            tt_pq4_scan(packed, count, m, lut, 1.5, 0.25, &fast)
            tt_pq4_scan_portable(packed, count, m, lut, 1.5, 0.25, &slow)
            #expect(fast == slow, "m \(m), count \(count)")
        }
    }

    /// The scanner's approximate scores against the exact inner product with the decoded
    /// vectors: off by at most the table's rounding, half a step per sub-quantizer.
    @Test(arguments: [(8, 4), (16, 8), (24, 3), (64, 32), (10, 5)])
    func scoresMatchDecodingThenDottingWithinTheTableRounding(d: Int, m: Int) throws {
        let n = 70
        let (pq, x, _, _) = try trained(n: 300, d: d, m: m, seed: UInt64(d + m))
        let zero = [Float](repeating: 0, count: d)
        var codes = [UInt8](repeating: 0, count: n * m)
        codes.withUnsafeMutableBufferPointer { out in
            for r in 0..<n { pq.encode(Array(x.row(r)), centroid: zero, into: out.baseAddress! + r * m) }
        }
        var packed = [UInt8](repeating: 0, count: pq.packedBytes(count: n))
        pq.pack(codes, count: n, into: &packed)
        let q = Array(randomMatrix(1, d, seed: 9).values)
        var scanner = pq.scanner(for: q, metric: .innerProduct)
        scanner.begin(list: 0, centroidScore: -0.25)
        var out = [Float](repeating: 0, count: n), decoded = [Float](repeating: 0, count: d)
        scanner.scores(packed, count: n, into: &out)
        let step = (scanner as! PQ4Encoding.Scanner).inverseScale
        for r in 0..<n {
            pq.decode(Array(codes[(r * m)..<((r + 1) * m)]), centroid: zero, into: &decoded)
            let exact = -0.25 + zip(q, decoded).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(out[r] - exact) <= Float(m) * step / 2 + 1e-4, "vector \(r): \(out[r]) vs \(exact)")
        }
    }

    @Test func serializedCodebooksReadBack() throws {
        let (pq, _, _, _) = try trained(n: 100, d: 12, m: 6, seed: 3)
        let back = pq.serialized.withUnsafeBytes { PQ4Encoding.deserialize($0, dimension: 12) }
        #expect(back == pq)
        #expect(pq.serialized.withUnsafeBytes { PQ4Encoding.deserialize($0, dimension: 16) } == nil)
        #expect(throws: IndexError.self) { _ = try PQ4Encoding(residualsOf: randomMatrix(10, 12, seed: 1), centroids: Matrix(rows: 1, cols: 12),
                                                                 assignment: [Int32](repeating: 0, count: 10), subQuantizers: 5, seed: 1) }
    }
}
