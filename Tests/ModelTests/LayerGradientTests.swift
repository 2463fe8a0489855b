import Foundation
import LinearAlgebra
import Randomness
import Testing
@testable import Model

/// L = Σ weights ⊙ f(x): its gradient with respect to f's output is `weights`.
func weightedSum(_ y: Matrix, _ weights: Matrix) -> Double {
    zip(y.values, weights.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

struct LayerGradientTests {
    @Test(arguments: [Initialization.xavier, .kaiming])
    func linearGradientsMatchFiniteDifferences(initialization: Initialization) {
        var layer = Linear(inputs: 5, outputs: 3, initialization: initialization, seed: 1)
        layer.bias = randomMatrix(1, 3, seed: 2)
        let x = randomMatrix(4, 5, seed: 3), w = randomMatrix(4, 3, seed: 4)
        let g = layer.backward(input: x, gradient: w)
        #expect(close(g.dx.values, numericGradient(x, { weightedSum(layer.forward($0), w) }), tolerance: 1e-3))
        #expect(close(g.dWeight.values, numericGradient(layer.weight, { weightedSum(Linear(weight: $0, bias: layer.bias).forward(x), w) }), tolerance: 1e-3))
        #expect(close(g.dBias.values, numericGradient(layer.bias, { weightedSum(Linear(weight: layer.weight, bias: $0).forward(x), w) }), tolerance: 1e-3))
    }

    @Test func initialisationsHaveTheirVariance() {
        let xavier = Linear(inputs: 200, outputs: 300, initialization: .xavier, seed: 5).weight.values
        let kaiming = Linear(inputs: 200, outputs: 300, initialization: .kaiming, seed: 5).weight.values
        func variance(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1 * $1) } / Double(v.count) }
        #expect(abs(variance(xavier) - 2.0 / 500) < 0.1 * 2.0 / 500)
        #expect(abs(variance(kaiming) - 2.0 / 200) < 0.1 * 2.0 / 200)
    }

    @Test(arguments: [Activation.relu, .gelu])
    func activationGradientsMatchFiniteDifferences(activation: Activation) {
        // Keep entries away from ReLU's kink at 0, where the derivative is undefined.
        var x = randomMatrix(3, 6, seed: 6)
        for i in x.values.indices where abs(x.values[i]) < 0.05 { x.values[i] = 0.3 }
        let w = randomMatrix(3, 6, seed: 7)
        let dx = activation.backward(input: x, gradient: w)
        #expect(close(dx.values, numericGradient(x, { weightedSum(activation.forward($0), w) }, h: 1e-3), tolerance: 2e-3))
    }

    @Test func geluMatchesKnownValues() {
        let y = Activation.gelu.forward(Matrix([[0, 1, -1, 3]])).values
        // PyTorch's gelu(approximate="tanh"): 0, 0.8412, -0.1588, 2.9964.
        for (a, b) in zip(y, [Float(0), 0.8412, -0.1588, 2.9964]) { #expect(abs(a - b) < 1e-3) }
    }

    @Test func layerNormGradientsMatchFiniteDifferences() {
        let norm = LayerNorm(gain: randomMatrix(1, 6, seed: 8), shift: randomMatrix(1, 6, seed: 9))
        let x = randomMatrix(4, 6, seed: 10), w = randomMatrix(4, 6, seed: 11)
        let (y, cache) = norm.forward(x)
        for r in 0..<4 {  // Standardised before the gain: mean 0, variance 1 per row.
            let n = Array(cache.normalized.row(r))
            #expect(abs(n.reduce(0, +)) < 1e-4 && abs(n.reduce(0) { $0 + $1 * $1 } / 6 - 1) < 1e-3)
        }
        #expect(y.rows == 4)
        let g = norm.backward(cache: cache, gradient: w)
        #expect(close(g.dx.values, numericGradient(x, { weightedSum(norm.forward($0).y, w) }, h: 1e-2), tolerance: 3e-3))
        #expect(close(g.dGain.values, numericGradient(norm.gain, { weightedSum(LayerNorm(gain: $0, shift: norm.shift).forward(x).y, w) }), tolerance: 2e-3))
        #expect(close(g.dShift.values, numericGradient(norm.shift, { weightedSum(LayerNorm(gain: norm.gain, shift: $0).forward(x).y, w) }), tolerance: 2e-3))
    }

    @Test func dropoutZeroesAboutItsRateAndScalesTheRest() {
        var rng = SplitMix64(seed: 12)
        let x = Matrix(rows: 100, cols: 100, repeating: 1)
        let (y, mask) = Dropout(rate: 0.3).forward(x, using: &rng)
        let zeros = y.values.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10_000 - 0.3) < 0.02)
        #expect(y.values.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        // Backward applies the same mask.
        #expect(Dropout(rate: 0.3).backward(mask: mask, gradient: x).values == y.values)
    }

    @Test(arguments: [
        MLPSpec(hidden: [8], activation: .relu),
        MLPSpec(hidden: [8, 6], activation: .gelu, layerNorm: true, residual: true),
        MLPSpec(hidden: [7], activation: .gelu, layerNorm: true, residual: false),
    ])
    func mlpGradientsMatchFiniteDifferences(spec: MLPSpec) {
        let mlp = MLP(inputs: 5, outputs: 5, spec: spec, seed: 13)
        let x = randomMatrix(3, 5, seed: 14), w = randomMatrix(3, 5, seed: 15)
        var none: SplitMix64? = nil
        let (_, cache) = mlp.forward(x, rng: &none)
        let g = mlp.backward(cache: cache, gradient: w)
        #expect(close(g.dx.values, numericGradient(x, { weightedSum(mlp($0), w) }, h: 1e-3), tolerance: 3e-3))
        for p in 0..<mlp.parameterCount {
            let numeric = numericGradient(mlp.parameters[p], { m in
                var copy = mlp
                copy.parameters[p] = m
                return weightedSum(copy(x), w)
            }, h: 1e-3)
            #expect(close(g.gradients[p].values, numeric, tolerance: 3e-3), "parameter \(p)")
        }
    }

    @Test func residualAddsTheInput() {
        var mlp = MLP(inputs: 4, outputs: 4, spec: MLPSpec(hidden: [3], residual: true), seed: 16)
        mlp.parameters = mlp.parameters.map { Matrix(rows: $0.rows, cols: $0.cols) }  // every weight 0: f(x) = 0
        let x = randomMatrix(2, 4, seed: 17)
        #expect(mlp(x) == x)
    }
}
