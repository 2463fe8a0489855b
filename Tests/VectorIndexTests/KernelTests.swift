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
