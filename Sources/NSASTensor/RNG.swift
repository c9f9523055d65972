import Foundation

/// A seeded xoshiro256** generator whose whole state can be saved and restored.
/// Used for weight init, architecture sampling, Gumbel noise and data shuffles.
public struct RNG: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The full generator state: four 64-bit words.
    public private(set) var state: [UInt64]

    /// Seeds through SplitMix64, as the xoshiro authors recommend.
    public init(seed: UInt64) {
        var z = seed
        var s = [UInt64]()
        for _ in 0..<4 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            s.append(x ^ (x >> 31))
        }
        state = s
    }

    /// Restores a saved state; throws when it is not four words or all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw TensorError.argument(op: "RNG(state:)", message: "a state is four 64-bit words, not all zero; got \(state.count) words")
        }
        self.state = state
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]; state[3] ^= state[1]; state[1] ^= state[2]; state[0] ^= state[3]
        state[2] ^= t; state[3] = Self.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }
    /// Uniform integer in 0..<n.
    public mutating func int(below n: Int) -> Int { Int.random(in: 0..<n, using: &self) }
    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1.0p-53, Double.leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1.0p-53
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
    /// Standard Gumbel sample -log(-log(u)), u in (0, 1); never infinite.
    public mutating func gumbel() -> Float {
        let u = (Double(next() >> 11) + 0.5) * 0x1.0p-53
        return Float(-Foundation.log(-Foundation.log(u)))
    }
    /// A seeded Fisher-Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) { a.shuffle(using: &self) }
}
