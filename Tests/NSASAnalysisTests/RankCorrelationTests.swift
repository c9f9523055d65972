import Foundation
@testable import NSASAnalysis
import Testing

@Suite struct RankCorrelationTests {
    // Reference values from scipy 1.17 (stats.kendalltau, stats.spearmanr), an independent implementation.
    @Test func matchesScipyWithTies() {
        let x = [0.91, 0.85, 0.85, 0.70, 0.66, 0.95, 0.80, 0.72], y = [0.93, 0.80, 0.82, 0.75, 0.60, 0.90, 0.84, 0.72]
        let (tau, p) = RankCorrelation.kendallTauB(x, y)
        #expect(abs(tau - 0.6910233190806425) < 1e-12)
        #expect(abs(p - 0.017844011512848347) < 1e-12)
        #expect(abs(RankCorrelation.spearman(x, y) - 0.8742671711966791) < 1e-12)
        let x2: [Double] = [1, 2, 2, 3, 4, 4, 4, 5, 6, 7], y2: [Double] = [2, 1, 3, 3, 5, 4, 6, 8, 7, 7]
        let t2 = RankCorrelation.kendallTauB(x2, y2)
        #expect(abs(t2.tau - 0.7859370885787427) < 1e-12 && abs(t2.p - 0.002434722997600704) < 1e-12)
        #expect(abs(RankCorrelation.spearman(x2, y2) - 0.9195443073222924) < 1e-12)
    }

    @Test func extremesAndRanks() {
        let a: [Double] = [1, 2, 3, 4, 5]
        #expect(RankCorrelation.kendallTauB(a, a).tau == 1)
        #expect(RankCorrelation.kendallTauB(a, a.reversed()).tau == -1)
        #expect(RankCorrelation.ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        #expect(RankCorrelation.kendallTauB([1, 1, 1], [1, 2, 3]).tau.isNaN)   // no ranking in A
    }

    @Test func agreementReportsEverything() {
        let a: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        let b: [Double] = [0.15, 0.1, 0.35, 0.3, 0.55, 0.5, 0.75, 0.7, 0.9, 0.95]
        let g = RankCorrelation.agreement(a, b, bootstrap: 200, seed: 1)
        #expect(g.n == 10 && g.topK == 1)
        #expect(g.topKPrecision == 1 && g.regret == 0)          // both rank the last one first
        #expect(g.ci95[0] <= g.kendallTauB && g.kendallTauB <= g.ci95[1])
        #expect(RankCorrelation.agreement(a, b, bootstrap: 200, seed: 1) == g)   // seeded
        // The best by A is third best in B: regret is B's gap.
        let r = RankCorrelation.agreement([3, 1, 2], [0.8, 0.9, 0.95], topK: 1, bootstrap: 10)
        #expect(abs(r.regret - 0.15) < 1e-12 && r.topKPrecision == 0)
    }
}

/// The O(n log n) tau-b equals a direct count over all pairs, ties in either ranking or both.
@Suite struct FastTauTests {
    func naive(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0, ta = 0.0, tb = 0.0
        let n = a.count
        for i in 0..<n { for j in (i + 1)..<n {
            let da = a[i] - a[j], db = b[i] - b[j]
            if da != 0 && db != 0 { s += (da > 0) == (db > 0) ? 1 : -1 }
            if da == 0 { ta += 1 }
            if db == 0 { tb += 1 }
        } }
        let n0 = Double(n * (n - 1) / 2)
        return s / ((n0 - ta) * (n0 - tb)).squareRoot()
    }

    @Test func equalsTheDirectCountWithTies() {
        var state: UInt64 = 7
        func next(_ k: Int) -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double((state >> 33) % UInt64(k)) }
        for (n, levels) in [(2, 2), (5, 3), (50, 4), (300, 17), (301, 1000)] {
            let a = (0..<n).map { _ in next(levels) }, b = (0..<n).map { _ in next(levels) + 0.5 * next(2) }
            let fast = RankCorrelation.kendallTauB(a, b).tau, slow = naive(a, b)
            #expect(fast.isNaN == slow.isNaN && (fast.isNaN || abs(fast - slow) < 1e-12), "n \(n): \(fast) vs \(slow)")
        }
    }

    /// The bootstrap counts copies of the sorted pairs instead of sorting each resample: every
    /// resample's tau equals tau-b of the resample drawn and computed directly.
    @Test func bootstrapEqualsDrawingEachResample() {
        var state: UInt64 = 11
        func next(_ k: Int) -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double((state >> 33) % UInt64(k)) }
        for (n, levels) in [(2, 2), (7, 3), (60, 5), (400, 1000)] {
            let a = (0..<n).map { _ in next(levels) }, b = (0..<n).map { _ in next(levels) + 0.5 * next(2) }
            let seed: UInt64 = 5
            let fast = RankCorrelation.bootstrapTaus(a, b, count: 40, seed: seed)
            for r in 0..<40 {
                var s = seed ^ (UInt64(r) &* 0xD1B5_4A32_D192_ED03) &+ 0x9E37_79B9_7F4A_7C15
                var ra: [Double] = [], rb: [Double] = []
                for _ in 0..<n {
                    s &+= 0x9E37_79B9_7F4A_7C15
                    var z = s
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    let i = Int((z ^ (z >> 31)) % UInt64(n))
                    ra.append(a[i]); rb.append(b[i])
                }
                let slow = naive(ra, rb)
                #expect(fast[r].isNaN == slow.isNaN && (slow.isNaN || abs(fast[r] - slow) < 1e-12), "n \(n), resample \(r): \(fast[r]) vs \(slow)")
            }
        }
    }

    @Test func missingValuesAreNullInJSONAndNonFiniteScoresAreRefused() throws {
        let tied = RankCorrelation.agreement([1, 1, 1], [1, 2, 3], bootstrap: 0)
        let json = String(decoding: try JSONEncoder().encode(tied), as: UTF8.self)
        #expect(json.contains("\"kendall_tau_b\":null") && json.contains("\"ci95\":null"))
        let t = try CSVTable.parse("arch,accuracy\na,0.5\nb,nan\n", path: "x.csv")
        do { _ = try TauReport.compare(ScoreColumn(table: t, path: "x.csv"), ScoreColumn(table: t, path: "x.csv")); Issue.record("no error") } catch {
            #expect("\(error)".contains("x.csv:3") && "\(error)".contains("nan"))
        }
    }
}
