import Foundation
import LinearAlgebra
import Randomness
@testable import VectorIndex

final class IndexDir {
    let path = NSTemporaryDirectory() + "index-tests-" + UUID().uuidString
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// n points around `clusters` well-separated unit centres, plus the centre of each point.
func clusteredVectors(n: Int, d: Int, clusters: Int, sigma: Float, seed: UInt64, normalize: Bool = true) -> (Matrix, [Int]) {
    var rng = SplitMix64(seed: seed)
    var centres = Matrix(rows: clusters, cols: d, values: (0..<(clusters * d)).map { _ in Float(rng.nextGaussian()) })
    KMeans.normalizeRows(&centres)
    var labels = [Int](), values = [Float]()
    for i in 0..<n {
        let c = i % clusters
        labels.append(c)
        for j in 0..<d { values.append(centres[c, j] + sigma * Float(rng.nextGaussian())) }
    }
    var m = Matrix(rows: n, cols: d, values: values)
    if normalize { KMeans.normalizeRows(&m) }
    return (m, labels)
}

func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var rng = SplitMix64(seed: seed)
    return Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float(rng.nextGaussian()) })
}

/// Exact top-k by a naive loop (the reference for the index and for ExactSearch).
func naiveTopK(_ q: [Float], _ base: Matrix, k: Int, metric: Metric) -> [Int64] {
    var scored: [(Int64, Float)] = []
    for r in 0..<base.rows {
        var s: Float = 0
        for j in 0..<base.cols {
            if metric == .l2 { let e = q[j] - base[r, j]; s -= e * e } else { s += q[j] * base[r, j] }
        }
        scored.append((Int64(r), s))
    }
    return scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k).map(\.0)
}

/// Build settings for tests of the IVF machinery itself: always IVF with the given nlist (no
/// exact layout for small sets) and no calibration, unless a test asks for them.
func ivfParameters(nlist: Int) -> BuildParameters {
    var p = BuildParameters(nlist: nlist)
    p.layout = .ivf
    p.calibration = nil
    return p
}
