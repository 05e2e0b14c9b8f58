import Foundation

/// SplitMix64: expands one 64-bit seed into the well-mixed state words xoshiro needs
/// (xoshiro must not start from an all-zero or low-entropy state).
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: fast, small state, and — unlike the system generator — the same sequence
/// for a seed on every platform and run, which makes generated data reproducible byte for byte.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inline(__always) public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always) public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    @inline(__always) public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * uniform()
    }

    /// Uniform integer in `0..<n` (Lemire's multiply-shift; the tiny bias is irrelevant here and
    /// avoiding the rejection loop keeps the number of draws per call fixed).
    @inline(__always) public mutating func int(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Uniform integer in the closed range.
    @inline(__always) public mutating func int(in r: ClosedRange<Int>) -> Int {
        r.lowerBound + int(r.upperBound - r.lowerBound + 1)
    }

    @inline(__always) public mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal (Box–Muller, one value per call so the draw count stays fixed).
    public mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
        let u1 = max(uniform(), 0x1.0p-53)
        let u2 = uniform()
        return mean + sd * (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// exp(N(mu, sigma)): amounts are skewed with a long right tail, as card spend is.
    public mutating func lognormal(mu: Double, sigma: Double) -> Double {
        Foundation.exp(normal(mean: mu, sd: sigma))
    }

    /// Exponential with the given rate (mean 1/rate): the gaps of a Poisson process.
    public mutating func exponential(rate: Double) -> Double {
        -Foundation.log(1 - uniform()) / rate
    }

    /// An index drawn with probability proportional to its weight (weights ≥ 0, sum > 0).
    public mutating func weighted(_ weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        var x = uniform() * total
        for (i, w) in weights.enumerated() {
            x -= w
            if x < 0 { return i }
        }
        return weights.count - 1
    }

    /// An index from a precomputed cumulative table (binary search, for hot paths).
    public mutating func weighted(cumulative: [Double]) -> Int {
        let x = uniform() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

@inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
