import Foundation
import LinearAlgebra
import Randomness
import Testing
@testable import Model

func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var rng = SplitMix64(seed: seed)
    return Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float(rng.nextGaussian()) })
}

/// Central finite difference of `f` at every entry of `x`, in Double for accuracy.
func numericGradient(_ x: Matrix, _ f: (Matrix) -> Double, h: Float = 1e-2) -> [Double] {
    (0..<x.values.count).map { i in
        var plus = x, minus = x
        plus.values[i] += h
        minus.values[i] -= h
        return (f(plus) - f(minus)) / (2 * Double(h))
    }
}

func close(_ analytic: [Float], _ numeric: [Double], tolerance: Double) -> Bool {
    zip(analytic, numeric).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
}

struct GradientTests {
    @Test func l2NormalizeBackwardMatchesFiniteDifferences() {
        let x = randomMatrix(3, 5, seed: 1)
        let weights = randomMatrix(3, 5, seed: 2)  // L = Σ w ⊙ normalize(x)
        let loss: (Matrix) -> Double = { m in
            zip(L2Normalize.forward(m).y.values, weights.values).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        let (y, norms) = L2Normalize.forward(x)
        let dx = L2Normalize.backward(y: y, norms: norms, gradient: weights)
        #expect(close(dx.values, numericGradient(x, loss, h: 1e-3), tolerance: 2e-3))
    }

    @Test(arguments: [false, true])
    func sampledSoftmaxGradientsMatchFiniteDifferences(withDuplicates: Bool) {
        let u = randomMatrix(6, 4, seed: 3), v = randomMatrix(6, 4, seed: 4)
        let ids: [Int32] = withDuplicates ? [0, 1, 2, 1, 4, 5] : [0, 1, 2, 3, 4, 5]
        let known: [[Int]] = [[5], [], [], [], [], []]  // user 0 has seen the item in column 5
        let loss = SampledSoftmaxLoss(temperature: 0.5)
        let result = loss.lossAndGradients(users: u, items: v, itemIDs: ids, maskedColumns: known)
        let du = numericGradient(u, { Double(loss.lossAndGradients(users: $0, items: v, itemIDs: ids, maskedColumns: known).loss) }, h: 1e-2)
        let dv = numericGradient(v, { Double(loss.lossAndGradients(users: u, items: $0, itemIDs: ids, maskedColumns: known).loss) }, h: 1e-2)
        #expect(close(result.dUsers.values, du, tolerance: 5e-3))
        #expect(close(result.dItems.values, dv, tolerance: 5e-3))
    }

    @Test func sampledSoftmaxLossMatchesAHandComputedCase() {
        // Two users, two items, unit vectors: u0·v0 = 1, u0·v1 = 0, u1·v0 = 0, u1·v1 = 1; τ = 1.
        let u = Matrix([[1, 0], [0, 1]]), v = Matrix([[1, 0], [0, 1]])
        let result = SampledSoftmaxLoss(temperature: 1).lossAndGradients(users: u, items: v, itemIDs: [7, 8])
        let expected = -log(exp(1.0) / (exp(1.0) + 1))
        #expect(abs(Double(result.loss) - expected) < 1e-6)
        // The same item twice: the copy is masked, so each row's softmax has one entry and loss 0.
        let masked = SampledSoftmaxLoss(temperature: 1).lossAndGradients(users: u, items: v, itemIDs: [7, 7])
        #expect(abs(masked.loss) < 1e-6)
    }

    @Test func contributionsSumByRowInListOrder() {
        let table = ParameterTable(EmbeddingTable(weights: Matrix(rows: 10, cols: 2)), parts: 2)
        let g: [Float] = [1, 1, 2, 2, 3, 3]
        g.withUnsafeBufferPointer { p in
            table.lists[1].add(4, p.baseAddress! + 4)          // 3, 3
            table.lists[0].add(4, p.baseAddress!)              // 1, 1
            table.lists[0].add(2, p.baseAddress! + 2, scale: 2)  // 4, 4
            table.index()
            var out: [Float] = [0, 0]
            #expect(out.withUnsafeMutableBufferPointer { table.gradient(row: 4, into: $0.baseAddress!) } && out == [4, 4])
            #expect(out.withUnsafeMutableBufferPointer { table.gradient(row: 2, into: $0.baseAddress!) } && out == [4, 4])
            #expect(!out.withUnsafeMutableBufferPointer { table.gradient(row: 3, into: $0.baseAddress!) })
            #expect(table.squaredNorm(range: 0..<5) == 64 && table.squaredNorm(range: 5..<10) == 0)
        }
    }

    @Test func anIndexBuiltByRowRangesOnSeveralThreadsIsTheOneThreadIndex() {
        // 3 lists of random contributions to a 50-row table; one index over all rows, and one
        // from 4 uneven ranges (an empty one among them) built at once on 4 threads.
        var rng = SplitMix64(seed: 9)
        let sources: [Float] = (0..<64).map { _ in Float.random(in: -1...1, using: &rng) }
        let contributions: [[(Int32, Int, Float)]] = (0..<3).map { _ in
            (0..<Int.random(in: 20...200, using: &rng)).map { _ in
                (Int32.random(in: 0..<50, using: &rng), 2 * Int.random(in: 0..<32, using: &rng), Float.random(in: -2...2, using: &rng))
            }
        }
        func gradients(ranges: [Range<Int>]) -> [[Float]?] {
            let table = ParameterTable(EmbeddingTable(weights: Matrix(rows: 50, cols: 2)), parts: 3)
            return sources.withUnsafeBufferPointer { p in
                for (l, list) in contributions.enumerated() { for (row, at, scale) in list { table.lists[l].add(row, p.baseAddress! + at, scale: scale) } }
                table.reserveOrder()
                _ = Parallel.map(parts: ranges.count) { t in table.index(rows: ranges[t]) }
                return (0..<50).map { r in
                    var out: [Float] = [0, 0]
                    return out.withUnsafeMutableBufferPointer { table.gradient(row: r, into: $0.baseAddress!) } ? out : nil
                }
            }
        }
        let one = gradients(ranges: [0..<50]), four = gradients(ranges: [0..<7, 7..<7, 7..<31, 31..<50])
        #expect(one.compactMap { $0 }.count > 40)
        #expect(one.map { $0?.map(\.bitPattern) } == four.map { $0?.map(\.bitPattern) })
    }

    @Test func lazyAdamFollowsItsFormulaAndTouchesOnlyGivenRows() {
        let table = ParameterTable(EmbeddingTable(weights: Matrix([[1, 1], [5, 5]])), parts: 1)
        let g: [Float] = [0.5, -2]
        g.withUnsafeBufferPointer { p in
            table.lists[0].add(0, p.baseAddress!)
            table.index()
            table.apply(range: 0..<2, learningRate: 0.1, rate: adamRate(learningRate: 0.1, beta1: 0.9, beta2: 0.999, step: 1), weightDecay: 0, scale: 1)
        }
        // First step: m̂ = g, v̂ = g², so the update is lr · g / (|g| + ε) = ±lr.
        let w = table.weights.array
        #expect(abs(w[0] - 0.9) < 1e-5 && abs(w[1] - 1.1) < 1e-5)
        #expect(w[2] == 5 && w[3] == 5)
    }
}
