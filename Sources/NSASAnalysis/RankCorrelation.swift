import Foundation

/// How two rankings of the same architectures agree (the paper's measure: Kendall tau-b).
public struct RankAgreement: Codable, Equatable, Sendable {
    public var n: Int
    public var kendallTauB: Double
    public var spearmanRho: Double
    /// Two-sided p-value of tau-b (normal approximation with the tie-corrected variance).
    public var pValue: Double
    /// Bootstrap 95% interval of tau-b (pairs resampled with replacement, seeded).
    public var ci95: [Double]
    /// Share of the top k of A that are in the top k of B.
    public var topKPrecision: Double
    public var topK: Int
    /// How much worse, in B's score, the best architecture by A is than the best by B (>= 0).
    public var regret: Double

    enum CodingKeys: String, CodingKey {
        case n, kendallTauB = "kendall_tau_b", spearmanRho = "spearman_rho", pValue = "p_value", ci95 = "ci95"
        case topKPrecision = "top_k_precision", topK = "top_k", regret
    }
}

public enum RankCorrelation {
    /// Kendall tau-b and its tie-corrected asymptotic two-sided p-value (as scipy computes them).
    public static func kendallTauB(_ a: [Double], _ b: [Double]) -> (tau: Double, p: Double) {
        let n = a.count
        guard n >= 2 else { return (.nan, .nan) }
        var s = 0.0
        for i in 0..<n { for j in (i + 1)..<n {
            let da = a[i] - a[j], db = b[i] - b[j]
            if da != 0 && db != 0 { s += (da > 0) == (db > 0) ? 1 : -1 }
        } }
        func tieGroups(_ x: [Double]) -> [Double] { Dictionary(grouping: x, by: { $0 }).values.map { Double($0.count) }.filter { $0 > 1 } }
        let ta = tieGroups(a), tb = tieGroups(b), nn = Double(n)
        let n0 = nn * (nn - 1) / 2
        let n1 = ta.reduce(0) { $0 + $1 * ($1 - 1) / 2 }, n2 = tb.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        let denom = ((n0 - n1) * (n0 - n2)).squareRoot()
        let tau = denom > 0 ? s / denom : .nan
        let v0 = nn * (nn - 1) * (2 * nn + 5)
        let vt = ta.reduce(0) { $0 + $1 * ($1 - 1) * (2 * $1 + 5) }, vu = tb.reduce(0) { $0 + $1 * ($1 - 1) * (2 * $1 + 5) }
        let v1 = ta.reduce(0) { $0 + $1 * ($1 - 1) } * tb.reduce(0) { $0 + $1 * ($1 - 1) } / (2 * nn * (nn - 1))
        let v2 = n > 2 ? ta.reduce(0) { $0 + $1 * ($1 - 1) * ($1 - 2) } * tb.reduce(0) { $0 + $1 * ($1 - 1) * ($1 - 2) } / (9 * nn * (nn - 1) * (nn - 2)) : 0
        let variance = (v0 - vt - vu) / 18 + v1 + v2
        let p = variance > 0 ? erfc(abs(s) / variance.squareRoot() / 2.0.squareRoot()) : .nan
        return (tau, p)
    }

    /// Average ranks (1-based; ties share the mean of their positions).
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = avg }
            i = j + 1
        }
        return r
    }

    /// Spearman's rho: the Pearson correlation of the average ranks.
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double {
        let ra = ranks(a), rb = ranks(b), n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices { sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) * (ra[i] - ma); sbb += (rb[i] - mb) * (rb[i] - mb) }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
    }

    /// Everything `nsas-tau` reports, for scores where higher is better (negate lower-is-better
    /// scores such as perplexity first). `topK` defaults to 10% of n (at least 1).
    public static func agreement(_ a: [Double], _ b: [Double], topK: Int? = nil, bootstrap: Int = 1000, seed: UInt64 = 0) -> RankAgreement {
        let n = a.count
        let (tau, p) = kendallTauB(a, b)
        // Bootstrap over pairs with a seeded SplitMix64.
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func nextIndex() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
        var taus: [Double] = []
        if n >= 2 {
            for _ in 0..<bootstrap {
                var sa = [Double](), sb = [Double]()
                for _ in 0..<n { let i = nextIndex(); sa.append(a[i]); sb.append(b[i]) }
                let t = kendallTauB(sa, sb).tau
                if t.isFinite { taus.append(t) }
            }
        }
        taus.sort()
        let ci = taus.isEmpty ? [Double.nan, .nan] : [taus[Int(0.025 * Double(taus.count - 1))], taus[Int(0.975 * Double(taus.count - 1))]]
        let k = max(1, min(n, topK ?? Int((Double(n) * 0.1).rounded(.up))))
        let topA = Set(a.indices.sorted { a[$0] > a[$1] }.prefix(k)), topB = Set(b.indices.sorted { b[$0] > b[$1] }.prefix(k))
        let bestA = a.indices.max { a[$0] < a[$1] }, bestB = b.max()
        let regret = n > 0 ? bestB! - b[bestA!] : .nan
        return RankAgreement(n: n, kendallTauB: tau, spearmanRho: n >= 2 ? spearman(a, b) : .nan, pValue: p, ci95: ci,
                             topKPrecision: n > 0 ? Double(topA.intersection(topB).count) / Double(k) : .nan, topK: k, regret: regret)
    }
}
