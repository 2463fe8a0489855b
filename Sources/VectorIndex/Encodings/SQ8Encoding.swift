import CKernels
import LinearAlgebra

/// Per-dimension 8-bit scalar quantisation (SQ8) of residuals: each dimension's range [min, max]
/// over the residuals (vector − its list's centroid) is cut into 255 steps and a value is stored
/// as the nearest step's number. The decoding error of a dimension is at most half a step,
/// (max − min) / 510; residual ranges are much narrower than the vectors', so the steps are fine.
/// Inner product and cosine only (a residual's score adds to the centroid's).
public struct SQ8Encoding: ListEncoding, Equatable {
    public let minimums: [Float]
    public let steps: [Float]

    public var dimension: Int { minimums.count }
    public var codeBytes: Int { dimension }
    public var keepsFullVectors: Bool { true }
    public func packedBytes(count: Int) -> Int { count * dimension }

    /// Learns the per-dimension ranges of the residuals `x − centroids[assignment[x]]`.
    public init(residualsOf vectors: Matrix, centroids: Matrix, assignment: [Int32]) {
        let d = vectors.cols
        var lo = [Float](repeating: .infinity, count: d), hi = [Float](repeating: -.infinity, count: d)
        for r in 0..<vectors.rows {
            let c = Int(assignment[r])
            for j in 0..<d {
                let v = vectors[r, j] - centroids[c, j]
                lo[j] = min(lo[j], v)
                hi[j] = max(hi[j], v)
            }
        }
        minimums = lo
        steps = zip(lo, hi).map { max(($1 - $0) / 255, Float.leastNormalMagnitude) }
    }

    init(minimums: [Float], steps: [Float]) {
        self.minimums = minimums
        self.steps = steps
    }

    public func encode(_ x: UnsafePointer<Float>, centroid: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt8>) {
        for j in 0..<minimums.count {
            let q = ((x[j] - centroid[j] - minimums[j]) / steps[j]).rounded()
            code[j] = UInt8(max(0, min(255, q)))
        }
    }

    public func pack(_ codes: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutableRawPointer) {
        out.copyMemory(from: codes, byteCount: count * dimension)
    }

    public func unpack(_ packed: UnsafeRawPointer, count: Int, into codes: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(codes).copyMemory(from: packed, byteCount: count * dimension)
    }

    public func decode(_ code: UnsafePointer<UInt8>, centroid: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<dimension { out[j] = centroid[j] + minimums[j] + Float(code[j]) * steps[j] }
    }

    public func scanner(for query: [Float], metric: Metric) -> any ListScanner {
        // score = q·c_list + Σ_j q_j (min_j + code_j · step_j): the first term is the centroid's score.
        Scanner(qstep: (0..<dimension).map { query[$0] * steps[$0] },
                qmin: (0..<dimension).reduce(Float(0)) { $0 + query[$1] * minimums[$1] })
    }

    struct Scanner: ListScanner {
        let qstep: [Float]
        let qmin: Float
        var base: Float = 0

        mutating func begin(list: Int, centroidScore: Float) { base = qmin + centroidScore }

        func scores(_ packed: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
            qstep.withUnsafeBufferPointer { qs in
                tt_inner_products_sq8(qs.baseAddress!, base, packed.assumingMemoryBound(to: UInt8.self), count, qs.count, out)
            }
        }
    }

    /// minimums then steps.
    public var serialized: [UInt8] { (minimums + steps).withUnsafeBytes { Array($0) } }

    /// nil when the bytes do not hold 2·d floats.
    static func deserialize(_ bytes: UnsafeRawBufferPointer, dimension d: Int) -> SQ8Encoding? {
        guard bytes.count == 8 * d else { return nil }
        let floats = (0..<(2 * d)).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        return SQ8Encoding(minimums: Array(floats[0..<d]), steps: Array(floats[d..<(2 * d)]))
    }
}
