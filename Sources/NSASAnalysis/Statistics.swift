import Foundation

/// Small-sample statistics for studies over seeds: Student t intervals and exact sign-flip
/// permutation tests (checked against scipy in the tests).
public enum Stats {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Sample standard deviation (n - 1 in the denominator); NaN below two values.
    public static func sd(_ x: [Double]) -> Double {
        guard x.count > 1 else { return .nan }
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
    }

    /// The regularized incomplete beta function I_x(a, b) (continued fraction, modified Lentz).
    public static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lbeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let front = exp(lbeta + a * log(x) + b * log(1 - x))
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, b, a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...500 {
            let m = Double(m)
            // Even step.
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }; d = 1 / d
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            f *= c * d
            // Odd step.
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }; d = 1 / d
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            let delta = c * d
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return front * f / a
    }

    /// The CDF of Student's t distribution with `df` degrees of freedom.
    public static func tCDF(_ t: Double, df: Double) -> Double {
        let tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// The p-quantile of Student's t (bisection on the CDF).
    public static func tQuantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0 && p < 1 && df > 0)
        var lo = -1.0, hi = 1.0
        while tCDF(lo, df: df) > p { lo *= 2 }
        while tCDF(hi, df: df) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if tCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-13 * max(1, abs(mid)) { break }
        }
        return (lo + hi) / 2
    }

    /// Mean with its two-sided t-based confidence interval; the interval is nil below two values.
    public struct Interval: Sendable, Equatable {
        public var n: Int
        public var mean: Double
        public var low: Double?, high: Double?
    }

    public static func tInterval(_ x: [Double], level: Double = 0.95) -> Interval {
        guard x.count > 1 else { return Interval(n: x.count, mean: mean(x), low: nil, high: nil) }
        let m = mean(x), se = sd(x) / Double(x.count).squareRoot()
        let q = tQuantile(0.5 + level / 2, df: Double(x.count - 1))
        return Interval(n: x.count, mean: m, low: m - q * se, high: m + q * se)
    }

    /// Two-sided p-value of the exact sign-flip permutation test of "the mean of these paired
    /// differences is zero": the share of the 2^n sign assignments whose mean is at least as far
    /// from zero as the observed one (the observed assignment included). Above 20 values, 2^16
    /// assignments drawn with a fixed seed stand in for all of them. With n values the smallest
    /// possible p is 2 / 2^n (0.0625 for 5 seeds).
    public static func signFlipP(_ d: [Double]) -> Double {
        guard !d.isEmpty else { return .nan }
        let observed = abs(d.reduce(0, +))
        let tol = 1e-12 * max(1, d.reduce(0) { $0 + abs($1) })
        var hits = 0, total = 0
        func count(_ flip: (Int) -> Bool) {
            var s = 0.0
            for (i, v) in d.enumerated() { s += flip(i) ? -v : v }
            total += 1
            if abs(s) >= observed - tol { hits += 1 }
        }
        if d.count <= 20 {
            for mask in 0..<(1 << d.count) { count { (mask >> $0) & 1 == 1 } }
        } else {
            var state: UInt64 = 0x9E3779B97F4A7C15
            count { _ in false }
            for _ in 1..<65536 {
                var flips = [Bool](repeating: false, count: d.count)
                for i in flips.indices {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    flips[i] = state >> 63 == 1
                }
                count { flips[$0] }
            }
        }
        return Double(hits) / Double(total)
    }
}
