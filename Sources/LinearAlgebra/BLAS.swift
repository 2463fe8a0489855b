import COpenBLAS

/// Whether an operand enters a product as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Matrix products through OpenBLAS (`cblas_sgemm`, `cblas_sgemv`) on row-major `Matrix` values.
///
/// Shapes are checked before calling BLAS, because BLAS itself reads out of bounds on a mismatch.
public enum BLAS {
    /// C ← alpha · op(A) · op(B) + beta · C.
    ///
    /// - Precondition: op(A) is m×k, op(B) is k×n and C is m×n.
    public static func gemm(_ a: Matrix, _ transposeA: Transpose = .none,
                            _ b: Matrix, _ transposeB: Transpose = .none,
                            into c: inout Matrix, alpha: Float = 1, beta: Float = 0) {
        let (m, ka) = transposeA == .none ? (a.rows, a.cols) : (a.cols, a.rows)
        let (kb, n) = transposeB == .none ? (b.rows, b.cols) : (b.cols, b.rows)
        precondition(ka == kb, "gemm: inner dimensions differ (\(a.shapeDescription) · \(b.shapeDescription))")
        precondition(c.rows == m && c.cols == n, "gemm: output is \(c.shapeDescription), expected \(m)×\(n)")
        guard m > 0, n > 0 else { return }
        if ka == 0 {
            for i in c.values.indices { c.values[i] *= beta }
            return
        }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas,
                                Int32(m), Int32(n), Int32(ka), alpha,
                                pa.baseAddress, Int32(a.cols), pb.baseAddress, Int32(b.cols),
                                beta, pc.baseAddress, Int32(c.cols))
                }
            }
        }
    }

    /// C ← alpha · op(A) · op(B) + beta · C on raw row-major storage with leading dimensions,
    /// so a block of rows or of columns of a larger matrix is multiplied in place (op(A) is m×k,
    /// op(B) k×n, C m×n). The caller guarantees the sizes.
    public static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ transposeA: Transpose,
                            _ b: UnsafePointer<Float>, ldb: Int, _ transposeB: Transpose,
                            _ c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            for r in 0..<m { for j in 0..<n { c[r * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// op(A) · op(B) as a new matrix.
    public static func multiply(_ a: Matrix, _ transposeA: Transpose = .none,
                                _ b: Matrix, _ transposeB: Transpose = .none) -> Matrix {
        let m = transposeA == .none ? a.rows : a.cols
        let n = transposeB == .none ? b.cols : b.rows
        var c = Matrix(rows: m, cols: n)
        gemm(a, transposeA, b, transposeB, into: &c)
        return c
    }

    /// y ← alpha · op(A) · x + beta · y.
    ///
    /// - Precondition: `x` has as many entries as op(A) has columns, `y` as many as it has rows.
    public static func gemv(_ a: Matrix, _ transposeA: Transpose = .none, _ x: [Float],
                            into y: inout [Float], alpha: Float = 1, beta: Float = 0) {
        let (m, n) = transposeA == .none ? (a.rows, a.cols) : (a.cols, a.rows)
        precondition(x.count == n, "gemv: x has \(x.count) entries, op(A) is \(m)×\(n)")
        precondition(y.count == m, "gemv: y has \(y.count) entries, op(A) is \(m)×\(n)")
        guard a.rows > 0, a.cols > 0 else {
            for i in y.indices { y[i] *= beta }
            return
        }
        a.values.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_sgemv(CblasRowMajor, transposeA.cblas, Int32(a.rows), Int32(a.cols), alpha,
                                pa.baseAddress, Int32(a.cols), px.baseAddress, 1, beta, py.baseAddress, 1)
                }
            }
        }
    }

    /// How many threads OpenBLAS uses for one product. Set it to 1 when the caller already runs
    /// products on several threads, so the two levels do not oversubscribe the cores.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
