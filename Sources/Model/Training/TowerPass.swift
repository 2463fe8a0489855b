import LinearAlgebra
import Randomness

/// One tower's part of a training step on a range of its rows (user rows, or candidate columns):
/// the encoders' sum into `raw` (id row, pooled tokens, numeric layer; the history is added by the
/// caller), the MLP, the L2 normalisation into `out`; and the way back. Tables are read from the
/// engine's parameter buffers; the dense layers' gradients come back per range, for the caller to
/// sum in range order.
struct TowerPass: Sendable {
    let spec: TowerSpec
    /// The dense layers (numeric, MLP) as of this step.
    let dense: Tower
    let ids: ParameterTable
    let tokens: ParameterTable?
    let features: EntityFeatures?

    var d: Int { spec.dimension }

    /// What `backward` needs from `forward` for one range.
    struct Cache: Sendable {
        var numericInput: Matrix?
        var mlp: MLP.Cache?
        var mlpInput: Matrix?
    }

    /// The id-table row of entity `id` (hashed when the spec asks for buckets); −1 for none.
    @inline(__always) func row(_ id: Int32) -> Int32 {
        dense.row(of: id)
    }

    /// Adds the id row, tokens and numeric layer of `entities[range]` into `raw` (which holds the
    /// added input, or zeros), then applies the MLP and normalises into `out`, `norms`.
    func forward(entities: UnsafePointer<Int32>, range: Range<Int>, raw: UnsafeMutablePointer<Float>,
                 out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>, rng: inout SplitMix64?) -> Cache {
        let d = self.d
        let w = ids.weights.pointer
        for r in range {
            let row = self.row(entities[r])
            let o = raw + r * d
            if row >= 0 { let src = w + Int(row) * d; for j in 0..<d { o[j] += src[j] } }
            if let tokens, let features {
                let e = Int(entities[r])
                if e >= 0 && e < features.tokens.count {
                    let t = tokens.weights.pointer
                    for token in features.tokens[e] where token.row >= 0 && Int(token.row) < tokens.rows {
                        let src = t + Int(token.row) * d
                        for j in 0..<d { o[j] += token.weight * src[j] }
                    }
                }
            }
        }
        var cache = Cache()
        if let numeric = dense.numeric, let features, features.numeric.cols == numeric.inputs {
            let n = numeric.inputs
            var x = Matrix(rows: range.count, cols: n)
            for (i, r) in range.enumerated() {
                let e = Int(entities[r])
                if e >= 0 && e < features.numeric.rows {
                    for j in 0..<n { x.values[i * n + j] = features.numeric.values[e * n + j] }
                }
            }
            let projected = numeric.forward(x)
            for i in 0..<range.count { for j in 0..<d { raw[(range.lowerBound + i) * d + j] += projected.values[i * d + j] } }
            cache.numericInput = x
        }
        var y: UnsafeMutablePointer<Float> = raw
        var mlpOut: Matrix?
        if let mlp = dense.mlp {
            let input = Matrix(rows: range.count, cols: d, values: Array(UnsafeBufferPointer(start: raw + range.lowerBound * d, count: range.count * d)))
            let (result, mlpCache) = mlp.forward(input, rng: &rng)
            cache.mlp = mlpCache
            cache.mlpInput = input
            mlpOut = result
        }
        if let mlpOut {
            mlpOut.values.withUnsafeBufferPointer { m in
                for i in 0..<(range.count * d) { out[range.lowerBound * d + i] = m[i] }
            }
            y = out
        }
        // L2 normalisation of each row.
        for r in range {
            let src = y + r * d, dst = out + r * d
            var s: Float = 0
            for j in 0..<d { s += src[j] * src[j] }
            let n = max(s.squareRoot(), 1e-12)
            norms[r] = n
            let inv = 1 / n
            for j in 0..<d { dst[j] = src[j] * inv }
        }
        return cache
    }

    /// dL/dout of rows `range` in `gradient` becomes dL/d(encoders' sum) in place; returns the
    /// dense layers' gradients (numeric, then MLP; empty when the tower has none).
    func backward(range: Range<Int>, out: UnsafePointer<Float>, norms: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>,
                  cache: Cache) -> [Matrix] {
        let d = self.d
        for r in range {
            let y = out + r * d, dy = g + r * d
            var dot: Float = 0
            for j in 0..<d { dot += y[j] * dy[j] }
            let inv = 1 / norms[r]
            for j in 0..<d { dy[j] = (dy[j] - y[j] * dot) * inv }
        }
        var gradients: [Matrix] = []
        var mlpGradients: [Matrix] = []
        if let mlp = dense.mlp, let mlpCache = cache.mlp {
            let dy = Matrix(rows: range.count, cols: d, values: Array(UnsafeBufferPointer(start: g + range.lowerBound * d, count: range.count * d)))
            let (dx, grads) = mlp.backward(cache: mlpCache, gradient: dy)
            dx.values.withUnsafeBufferPointer { p in for i in 0..<(range.count * d) { g[range.lowerBound * d + i] = p[i] } }
            mlpGradients = grads
        }
        if let numeric = dense.numeric {
            if let x = cache.numericInput {
                let dy = Matrix(rows: range.count, cols: d, values: Array(UnsafeBufferPointer(start: g + range.lowerBound * d, count: range.count * d)))
                let step = numeric.backward(input: x, gradient: dy)
                gradients += [step.dWeight, step.dBias]
            } else {
                gradients += [Matrix(rows: numeric.inputs, cols: numeric.outputs), Matrix(rows: 1, cols: numeric.outputs)]
            }
        }
        return gradients + mlpGradients
    }

    /// Records the id-row and token gradients of rows `range` (dL/d(encoders' sum) in `g`) as
    /// contributions in list `part` of the id and token tables.
    func collect(entities: UnsafePointer<Int32>, range: Range<Int>, gradient g: UnsafePointer<Float>, part: Int) {
        let d = self.d
        let idList = ids.lists[part]
        for r in range {
            let row = self.row(entities[r])
            if row >= 0 { idList.add(row, g + r * d) }
        }
        guard let tokens, let features else { return }
        let tokenList = tokens.lists[part]
        for r in range {
            let e = Int(entities[r])
            guard e >= 0 && e < features.tokens.count else { continue }
            for token in features.tokens[e] where token.row >= 0 && Int(token.row) < tokens.rows {
                tokenList.add(token.row, g + r * d, scale: token.weight)
            }
        }
    }
}
