import CBLAS
import Foundation

/// Whether an operand enters a product as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Matrix products through BLIS's CBLAS interface (`cblas_sgemm`, `cblas_sgemv`) on row-major
/// `Matrix` values.
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

    /// How many threads BLIS uses for one product. Set it to 1 when the caller already runs
    /// products on several threads, so the two levels do not oversubscribe the cores.
    public static var threads: Int {
        get { Int(bli_thread_get_num_threads()) }
        set { bli_thread_set_num_threads(dim_t(newValue)) }
    }

    /// The kernel set BLIS runs (`skx`, `zen3`, `haswell`, `generic`, …).
    public static var kernels: String { String(cString: bli_arch_string(bli_arch_query_id())) }

    /// BLIS's number for the kernel set `name`, nil when this BLIS has none by that name.
    /// `BLIS_ARCH_TYPE` takes this number: BLIS 0.9 reads the variable as an integer, so a name
    /// there reads as 0, which is `skx` (AVX-512), and crashes on a CPU without AVX-512.
    public static func kernelID(named name: String) -> Int? {
        // The table ends with `generic` (BLIS gives it the last number), so the scan stops there.
        for id in 0..<64 {
            let known = String(cString: bli_arch_string(Int32(id)))
            if known == name { return id }
            if known == "generic" { return nil }
        }
        return nil
    }

    /// Chooses BLIS's kernels and thread count for this machine; call it first thing in a
    /// program, while it has one thread (it sets an environment variable BLIS reads once, at its
    /// first product). BLIS picks its kernels by CPU model and falls back to slow generic code on
    /// CPUs newer than the library (a Zen 5 under Debian 12's BLIS 0.9); this picks them by what
    /// the CPU can do instead: the AVX-512 kernels (`skx`) with AVX-512 F/DQ/BW/VL, the AVX2 ones
    /// (`zen3` on AMD, `haswell` elsewhere) with AVX2 and FMA. `BLIS_ARCH_TYPE` set by the user
    /// wins (BLIS reads it as a number: `kernelID(named:)` gives it). Products then use every
    /// core (`threads`) unless told otherwise.
    public static func selectKernels() {
        if ProcessInfo.processInfo.environment["BLIS_ARCH_TYPE"] == nil, let choice = CPUFeatures.current.blisKernels,
           let id = kernelID(named: choice) {
            setenv("BLIS_ARCH_TYPE", String(id), 0)
        }
        if ProcessInfo.processInfo.environment["BLIS_NUM_THREADS"] == nil {
            threads = ProcessInfo.processInfo.activeProcessorCount
        }
    }
}

/// What the CPU's vector units can do, from `cpuid`.
public struct CPUFeatures: Sendable {
    public var avx2 = false, fma = false, avx512 = false
    public var amd = false

    public static let current: CPUFeatures = {
        var f = CPUFeatures()
        #if arch(x86_64)
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return f }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        f.avx2 = flags.contains("avx2")
        f.fma = flags.contains("fma")
        f.avx512 = ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
        f.amd = text.contains("AuthenticAMD")
        #endif
        return f
    }()

    /// The BLIS kernel set for these features, or nil to let BLIS decide.
    public var blisKernels: String? {
        if avx512 { return "skx" }
        if avx2 && fma { return amd ? "zen3" : "haswell" }
        return nil
    }
}
