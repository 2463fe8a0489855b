import LinearAlgebra
import Randomness
import Testing

/// The textbook triple loop, the reference BLAS is checked against.
func naiveProduct(_ a: Matrix, _ ta: Transpose, _ b: Matrix, _ tb: Transpose) -> Matrix {
    let opA = ta == .none ? a : a.transposed
    let opB = tb == .none ? b : b.transposed
    var c = Matrix(rows: opA.rows, cols: opB.cols)
    for i in 0..<opA.rows {
        for j in 0..<opB.cols {
            var sum: Float = 0
            for k in 0..<opA.cols { sum += opA[i, k] * opB[k, j] }
            c[i, j] = sum
        }
    }
    return c
}

func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout SplitMix64) -> Matrix {
    Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float(rng.nextGaussian()) })
}

func maxDifference(_ x: [Float], _ y: [Float]) -> Float {
    zip(x, y).map { abs($0 - $1) }.max() ?? 0
}

struct BLASTests {
    @Test(arguments: [(Transpose.none, Transpose.none), (.transposed, .none), (.none, .transposed), (.transposed, .transposed)])
    func gemmMatchesTheNaiveProduct(ta: Transpose, tb: Transpose) {
        var rng = SplitMix64(seed: 3)
        let (m, k, n) = (7, 5, 9)
        let a = ta == .none ? randomMatrix(m, k, &rng) : randomMatrix(k, m, &rng)
        let b = tb == .none ? randomMatrix(k, n, &rng) : randomMatrix(n, k, &rng)
        let c0 = randomMatrix(m, n, &rng)
        var c = c0
        BLAS.gemm(a, ta, b, tb, into: &c, alpha: 0.5, beta: 2)
        let reference = naiveProduct(a, ta, b, tb)
        let expected = zip(reference.values, c0.values).map { 0.5 * $0 + 2 * $1 }
        #expect(maxDifference(c.values, expected) < 1e-4)
        #expect(BLAS.multiply(a, ta, b, tb).values.count == m * n)
        #expect(maxDifference(BLAS.multiply(a, ta, b, tb).values, reference.values) < 1e-4)
    }

    @Test(arguments: [Transpose.none, .transposed])
    func gemvMatchesTheNaiveProduct(ta: Transpose) {
        var rng = SplitMix64(seed: 5)
        let a = randomMatrix(6, 4, &rng)
        let x = (0..<(ta == .none ? 4 : 6)).map { _ in Float(rng.nextGaussian()) }
        let y0 = (0..<(ta == .none ? 6 : 4)).map { _ in Float(rng.nextGaussian()) }
        var y = y0
        BLAS.gemv(a, ta, x, into: &y, alpha: -1, beta: 0.25)
        let column = Matrix(rows: x.count, cols: 1, values: x)
        let reference = naiveProduct(a, ta, column, .none).values
        let expected = zip(reference, y0).map { -$0 + 0.25 * $1 }
        #expect(maxDifference(y, expected) < 1e-4)
    }

    @Test func aLargerProductAgreesAcrossBLASThreads() {
        var rng = SplitMix64(seed: 9)
        let a = randomMatrix(300, 64, &rng), b = randomMatrix(500, 64, &rng)
        let saved = BLAS.threads
        defer { BLAS.threads = saved }
        BLAS.threads = 1
        let one = BLAS.multiply(a, .none, b, .transposed)
        BLAS.threads = 2
        let two = BLAS.multiply(a, .none, b, .transposed)
        #expect(maxDifference(one.values, two.values) < 1e-4)
        #expect(maxDifference(one.values, naiveProduct(a, .none, b, .transposed).values) < 1e-3)
    }

    @Test func matrixIndexingIsRowMajor() {
        let m = Matrix([[1, 2, 3], [4, 5, 6]])
        #expect(m[1, 0] == 4)
        #expect(Array(m.row(1)) == [4, 5, 6])
        #expect(m.transposed == Matrix([[1, 4], [2, 5], [3, 6]]))
    }
}

struct BLASKernelNameTests {
    @Test func kernelNamesMapToBLISsOwnNumbers() throws {
        var seen = Set<Int>()
        for name in ["skx", "haswell", "zen3", "generic"] {
            let id = try #require(BLAS.kernelID(named: name), "\(name)")
            #expect(seen.insert(id).inserted)
        }
        #expect(BLAS.kernelID(named: "no-such-kernels") == nil)
    }
}
