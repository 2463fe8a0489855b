import CKernels
import Randomness
import Testing

/// The sparse Adam row kernel (vectorised by intrinsics) against the scalar reference it must
/// reproduce to the bit: g·scale, m and v each by one fused multiply-add, the decay as
/// w − decay·w fused, then w − rate·m / (√v + ε).
struct AdamKernelTests {
    @Test(arguments: [1, 7, 16, 31, 64, 256])
    func theVectorisedRowIsTheScalarStepToTheBit(n: Int) {
        var rng = SplitMix64(seed: UInt64(n) &+ 3)
        func gaussian(_ s: Double) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian() * s) } }
        let w0 = gaussian(0.1), m0 = gaussian(0.01), v0 = gaussian(0.001).map { $0 * $0 }, g = gaussian(0.05)
        let scale: Float = 0.7, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, rate: Float = 0.004
        for decay: Float in [0, 2e-4] {
            var w = w0, m = m0, v = v0
            tt_adam_row(&w, &m, &v, g, n, scale, beta1, beta2, epsilon, rate, decay)
            for j in 0..<n {
                let gj = g[j] * scale
                let mj = ((1 - beta1) * gj).addingProduct(m0[j], beta1)
                let vj = (((1 - beta2) * gj) * gj).addingProduct(v0[j], beta2)
                let wj = w0[j].addingProduct(-decay, w0[j])
                let expected = wj - (rate * mj) / (vj.squareRoot() + epsilon)
                #expect(m[j].bitPattern == mj.bitPattern && v[j].bitPattern == vj.bitPattern, "m, v at \(j) of \(n)")
                #expect(w[j].bitPattern == expected.bitPattern, "w at \(j) of \(n): \(w[j]) against \(expected)")
            }
        }
    }
}
