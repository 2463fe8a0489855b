import LinearAlgebra

/// Per-dimension 8-bit scalar quantisation (SQ8): each dimension's range [min, max] over the
/// coded values is cut into 255 steps and a value is stored as the nearest step's number.
/// The decoding error of a dimension is at most half a step, (max − min) / 510. The index codes
/// residuals (vector − its list's centroid), whose ranges are much narrower than the vectors'.
public struct ScalarQuantizer: Sendable, Equatable {
    public let minimums: [Float]
    public let steps: [Float]

    public var dimension: Int { minimums.count }

    /// Learns the per-dimension ranges of the rows of `vectors`.
    public init(training vectors: Matrix) {
        let d = vectors.cols
        var lo = [Float](repeating: .infinity, count: d), hi = [Float](repeating: -.infinity, count: d)
        for r in 0..<vectors.rows {
            for j in 0..<d {
                let v = vectors[r, j]
                lo[j] = min(lo[j], v)
                hi[j] = max(hi[j], v)
            }
        }
        minimums = lo
        steps = zip(lo, hi).map { max(($1 - $0) / 255, Float.leastNormalMagnitude) }
    }

    /// Learns the ranges of the residuals `x − centroids[assignment[x]]`.
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

    /// Codes for one vector.
    public func encode(_ x: UnsafeBufferPointer<Float>, into code: inout [UInt8]) {
        for j in 0..<minimums.count {
            let q = ((x[j] - minimums[j]) / steps[j]).rounded()
            code[j] = UInt8(max(0, min(255, q)))
        }
    }

    /// The vector a code stands for.
    public func decode(_ code: [UInt8]) -> [Float] {
        (0..<minimums.count).map { minimums[$0] + Float(code[$0]) * steps[$0] }
    }

    /// minimums then steps, as stored under `"sq8"` in the index's `meta` database.
    var serialized: [UInt8] {
        (minimums + steps).withUnsafeBytes { Array($0) }
    }

    /// nil when the bytes do not hold 2·d floats.
    static func deserialize(_ bytes: UnsafeRawBufferPointer, dimension d: Int) -> ScalarQuantizer? {
        guard bytes.count == 8 * d else { return nil }
        let floats = (0..<(2 * d)).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        return ScalarQuantizer(minimums: Array(floats[0..<d]), steps: Array(floats[d..<(2 * d)]))
    }
}
