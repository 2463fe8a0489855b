import CKernels
import Testing
@testable import VectorIndex

struct KernelTests {
    @Test(arguments: [1, 7, 8, 64, 100])
    func scanKernelsMatchANaiveLoop(d: Int) {
        let base = randomMatrix(37, d, seed: UInt64(d))
        let q = Array(randomMatrix(1, d, seed: 99).values)
        var ip = [Float](repeating: 0, count: 37), l2 = [Float](repeating: 0, count: 37)
        tt_inner_products(q, base.values, 37, d, &ip)
        tt_l2_squared(q, base.values, 37, d, &l2)
        for r in 0..<37 {
            var dot: Float = 0, dist: Float = 0
            for j in 0..<d { dot += q[j] * base[r, j]; dist += (q[j] - base[r, j]) * (q[j] - base[r, j]) }
            #expect(abs(ip[r] - dot) < 1e-3 * Float(d))
            #expect(abs(l2[r] - dist) < 1e-3 * Float(d))
        }
    }

    @Test func argmaxKernelFindsTheBestColumnWithAndWithoutBias() {
        let scores: [Float] = [1, 5, 3, /**/ 2, 2, 0]
        var index = [Int32](repeating: -1, count: 2), value = [Float](repeating: 0, count: 2)
        tt_argmax_rows(scores, 2, 3, nil, &index, &value)
        #expect(index == [1, 0] && value == [5, 2])   // tie in row 2 keeps the lower column
        let bias: [Float] = [0, 10, 0]
        tt_argmax_rows(scores, 2, 3, bias, &index, &value)
        #expect(index == [2, 0] && value == [3, 2])
    }
}

struct ScalarQuantizerTests {
    @Test func decodingErrorIsAtMostHalfAStep() {
        let m = randomMatrix(500, 16, seed: 4)
        let sq = ScalarQuantizer(training: m)
        var code = [UInt8](repeating: 0, count: 16)
        for r in 0..<m.rows {
            let row = Array(m.row(r))
            row.withUnsafeBufferPointer { sq.encode($0, into: &code) }
            let back = sq.decode(code)
            for j in 0..<16 { #expect(abs(back[j] - row[j]) <= sq.steps[j] / 2 + 1e-6) }
        }
    }

    /// 37 codes: four blocks of eight plus a remainder; dimensions with and without a tail of 8.
    @Test(arguments: [1, 7, 24, 64, 100])
    func theSQ8KernelEqualsDecodingThenDotting(d: Int) {
        let n = 37
        let m = randomMatrix(n, d, seed: 5)
        let sq = ScalarQuantizer(training: m)
        let q = Array(randomMatrix(1, d, seed: 6).values)
        var codes = [UInt8](), code = [UInt8](repeating: 0, count: d)
        for r in 0..<n {
            Array(m.row(r)).withUnsafeBufferPointer { sq.encode($0, into: &code) }
            codes += code
        }
        let qstep = (0..<d).map { q[$0] * sq.steps[$0] }
        let base = (0..<d).reduce(Float(0)) { $0 + q[$1] * sq.minimums[$1] }
        var out = [Float](repeating: 0, count: n)
        tt_inner_products_sq8(qstep, base, codes, n, d, &out)
        for r in 0..<n {
            let decoded = sq.decode(Array(codes[(r * d)..<((r + 1) * d)]))
            let dot = zip(q, decoded).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(out[r] - dot) < 1e-4 * Float(d + 10))
        }
    }
}
