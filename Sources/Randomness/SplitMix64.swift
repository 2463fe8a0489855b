/// A small, fast, seedable generator (SplitMix64, Steele et al. 2014).
///
/// Every random choice in TwoTower (synthetic data, splits, sampling, initialisation) draws from a
/// generator seeded from configuration, so runs are reproducible bit for bit.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator for an independent stream `stream` derived from `seed`, so that parallel or
    /// per-entity work gets its own reproducible sequence whatever order it runs in.
    public static func derived(seed: UInt64, stream: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mixer.next())
    }
}

extension RandomNumberGenerator {
    /// A uniform value in [0, 1) with 53 bits of precision.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal value (Box–Muller).
    public mutating func nextGaussian() -> Double {
        var u1 = nextUnit()
        while u1 <= Double.leastNormalMagnitude { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// An exponential value with the given mean.
    public mutating func nextExponential(mean: Double) -> Double {
        var u = nextUnit()
        while u <= Double.leastNormalMagnitude { u = nextUnit() }
        return -mean * _log(u)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@inline(__always) func _log(_ x: Double) -> Double { log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { cos(x) }
