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

    /// Values that do not exist (tau of all-tied scores, an interval without resamples) are JSON null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ v: Double, _ k: CodingKeys) throws { if v.isFinite { try c.encode(v, forKey: k) } else { try c.encodeNil(forKey: k) } }
        try c.encode(n, forKey: .n); try put(kendallTauB, .kendallTauB); try put(spearmanRho, .spearmanRho); try put(pValue, .pValue)
        if ci95.allSatisfy(\.isFinite) { try c.encode(ci95, forKey: .ci95) } else { try c.encodeNil(forKey: .ci95) }
        try put(topKPrecision, .topKPrecision); try c.encode(topK, forKey: .topK); try put(regret, .regret)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get(_ k: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: k) ?? .nan }
        n = try c.decode(Int.self, forKey: .n); kendallTauB = try get(.kendallTauB); spearmanRho = try get(.spearmanRho)
        pValue = try get(.pValue); ci95 = try c.decodeIfPresent([Double].self, forKey: .ci95) ?? [.nan, .nan]
        topKPrecision = try get(.topKPrecision); topK = try c.decode(Int.self, forKey: .topK); regret = try get(.regret)
    }

    public init(n: Int, kendallTauB: Double, spearmanRho: Double, pValue: Double, ci95: [Double], topKPrecision: Double, topK: Int, regret: Double) {
        self.n = n; self.kendallTauB = kendallTauB; self.spearmanRho = spearmanRho; self.pValue = pValue; self.ci95 = ci95
        self.topKPrecision = topKPrecision; self.topK = topK; self.regret = regret
    }
}

public enum RankCorrelation {
    /// Kendall tau-b and its tie-corrected asymptotic two-sided p-value (as scipy computes them),
    /// in O(n log n) (Knight's algorithm on integer ranks).
    public static func kendallTauB(_ a: [Double], _ b: [Double]) -> (tau: Double, p: Double) {
        let n = a.count
        guard n >= 2, b.count == n else { return (.nan, .nan) }
        let (ra, ka) = denseRanks(a), (rb, kb) = denseRanks(b)
        var scratch = TauScratch(n: n, ka: ka, kb: kb)
        let st = tauStatistics(ra, rb, &scratch)
        let tau = st.tau
        let nn = Double(n)
        func sums(_ counts: [Int32]) -> (t1: Double, t2: Double, t3: Double) {   // sum t(t-1), t(t-1)(2t+5), t(t-1)(t-2)
            var x = (0.0, 0.0, 0.0)
            for c in counts where c > 1 { let t = Double(c); x.0 += t * (t - 1); x.1 += t * (t - 1) * (2 * t + 5); x.2 += t * (t - 1) * (t - 2) }
            return x
        }
        let ta = sums(scratch.countA), tb = sums(scratch.countB)
        let v0 = nn * (nn - 1) * (2 * nn + 5)
        let v1 = ta.t1 * tb.t1 / (2 * nn * (nn - 1))
        let v2 = n > 2 ? ta.t3 * tb.t3 / (9 * nn * (nn - 1) * (nn - 2)) : 0
        let variance = (v0 - ta.t2 - tb.t2) / 18 + v1 + v2
        let p = variance > 0 ? erfc(abs(st.s) / variance.squareRoot() / 2.0.squareRoot()) : .nan
        return (tau, p)
    }

    /// Each value's rank among the distinct values (0-based, equal values equal ranks) and how many distinct values.
    static func denseRanks(_ x: [Double]) -> ([Int32], Int) {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Int32](repeating: 0, count: x.count)
        var k: Int32 = -1
        var last = Double.nan
        for i in order {
            if k < 0 || x[i] != last { k += 1; last = x[i] }
            r[i] = k
        }
        return (r, Int(k) + 1)
    }

    /// Buffers for `tauStatistics`, reused across bootstrap resamples.
    struct TauScratch {
        var countA: [Int32], countB: [Int32], start: [Int32], byB: [Int32], order: [Int32], tree: [Int32]
        init(n: Int, ka: Int, kb: Int) {
            countA = [Int32](repeating: 0, count: ka); countB = [Int32](repeating: 0, count: kb)
            start = [Int32](repeating: 0, count: max(ka, kb) + 1)
            byB = [Int32](repeating: 0, count: n); order = byB
            tree = [Int32](repeating: 0, count: kb + 1)
        }
    }

    /// S = concordant - discordant pairs and tau-b of integer-ranked pairs (ra in 0..<ka, rb in
    /// 0..<kb): the pairs sorted by (a, b) with two counting sorts, the pairs out of order in b
    /// counted with a Fenwick tree; S = n0 - n1 - n2 + n3 - 2 swaps. Leaves the tie counts in scratch.
    static func tauStatistics(_ ra: [Int32], _ rb: [Int32], _ w: inout TauScratch) -> (s: Double, tau: Double) {
        let n = ra.count, ka = w.countA.count, kb = w.countB.count
        for i in 0..<ka { w.countA[i] = 0 }
        for i in 0..<kb { w.countB[i] = 0 }
        for i in 0..<n { w.countA[Int(ra[i])] += 1; w.countB[Int(rb[i])] += 1 }
        // Counting sort by b, then (stable) by a: the (a, b) order.
        var acc: Int32 = 0
        for v in 0..<kb { w.start[v] = acc; acc += w.countB[v] }
        for i in 0..<n { let v = Int(rb[i]); w.byB[Int(w.start[v])] = Int32(i); w.start[v] += 1 }
        acc = 0
        for v in 0..<ka { w.start[v] = acc; acc += w.countA[v] }
        for k in 0..<n { let i = Int(w.byB[k]), v = Int(ra[i]); w.order[Int(w.start[v])] = Int32(i); w.start[v] += 1 }
        var n1 = 0.0, n2 = 0.0, n3 = 0.0
        for c in w.countA where c > 1 { n1 += Double(c) * Double(c - 1) / 2 }
        for c in w.countB where c > 1 { n2 += Double(c) * Double(c - 1) / 2 }
        var run = 1
        for k in 1..<max(n, 1) {
            let i = Int(w.order[k]), j = Int(w.order[k - 1])
            if ra[i] == ra[j] && rb[i] == rb[j] { run += 1 } else { n3 += Double(run) * Double(run - 1) / 2; run = 1 }
        }
        n3 += Double(run) * Double(run - 1) / 2
        // Pairs earlier in the (a, b) order with a strictly larger b.
        for v in 0...kb { w.tree[v] = 0 }
        var swaps = 0.0
        for k in 0..<n {
            let v = Int(rb[Int(w.order[k])]) + 1
            var atMost = 0, x = v
            while x > 0 { atMost += Int(w.tree[x]); x -= x & -x }
            swaps += Double(k - atMost)
            x = v
            while x <= kb { w.tree[x] += 1; x += x & -x }
        }
        let n0 = Double(n) * Double(n - 1) / 2
        let s = n0 - n1 - n2 + n3 - 2 * swaps
        let denom = ((n0 - n1) * (n0 - n2)).squareRoot()
        return (s, denom > 0 ? s / denom : .nan)
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
        // Bootstrap over pairs: resamples seeded one by one, computed in parallel.
        var taus = bootstrapTaus(a, b, count: bootstrap, seed: seed).filter(\.isFinite)
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
