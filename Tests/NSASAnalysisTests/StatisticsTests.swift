import Testing
@testable import NSASAnalysis

/// Reference values from scipy 1.17.1 (stats.t.ppf, stats.t.cdf, stats.t.interval with
/// stats.sem, stats.permutation_test(..., permutation_type='samples', n_resamples=inf),
/// stats.kendalltau), printed by the script in the comment of each test.
@Suite struct StatisticsTests {
    // for df in [1,2,4,9,30]: stats.t.ppf(0.975, df), stats.t.cdf(1.5, df)
    @Test func studentTAgainstScipy() {
        let cases: [(Double, Double, Double)] = [
            (1, 12.706204736174694, 0.8128329581890011), (2, 4.302652729749462, 0.8638034375544994),
            (4, 2.7764451051977934, 0.896), (9, 2.262157162798205, 0.9160746719714625),
            (30, 2.0422724563012378, 0.927967035435677),
        ]
        for (df, q, cdf) in cases {
            #expect(abs(Stats.tQuantile(0.975, df: df) - q) < 1e-9 * q, "df \(df)")
            #expect(abs(Stats.tCDF(1.5, df: df) - cdf) < 1e-12, "df \(df)")
            #expect(abs(Stats.tCDF(-1.5, df: df) - (1 - cdf)) < 1e-12, "df \(df)")
        }
    }

    // x = [0.12,-0.05,0.31,0.22,0.08]; stats.t.interval(0.95, 4, loc=x.mean(), scale=stats.sem(x))
    @Test func tIntervalAgainstScipy() {
        let i = Stats.tInterval([0.12, -0.05, 0.31, 0.22, 0.08])
        #expect(i.n == 5)
        #expect(abs(i.mean - 0.136) < 1e-12)
        #expect(abs(i.low! - -0.03438417236327376) < 1e-10)
        #expect(abs(i.high! - 0.30638417236327375) < 1e-10)
        let j = Stats.tInterval([0.3, -0.1, 0.25, 0.4, -0.2, 0.15, 0.05, 0.33])
        #expect(abs(j.low! - -0.03190393444289161) < 1e-10)
        #expect(abs(j.high! - 0.32690393444289156) < 1e-10)
        let one = Stats.tInterval([0.4])
        #expect(one.low == nil && one.high == nil && one.mean == 0.4)
    }

    // stats.permutation_test((x,), np.mean, permutation_type='samples', alternative='two-sided', n_resamples=np.inf).pvalue
    @Test func signFlipAgainstScipy() {
        #expect(Stats.signFlipP([0.12, -0.05, 0.31, 0.22, 0.08]) == 0.125)
        #expect(Stats.signFlipP([0.3, -0.1, 0.25, 0.4, -0.2, 0.15, 0.05, 0.33]) == 0.109375)
        // All of one sign: the smallest p there is, 2 / 2^n.
        #expect(Stats.signFlipP([0.1, 0.2, 0.3, 0.4, 0.5]) == 0.0625)
        // Zero differences: every assignment is as extreme.
        #expect(Stats.signFlipP([0, 0, 0]) == 1)
        // Above 20 values: sampled assignments, still the right order of magnitude.
        let many = (0..<24).map { Double($0 % 5) + 0.5 }
        #expect(Stats.signFlipP(many) < 0.001)
    }

    // stats.kendalltau([1,2,3,4,5,5,6,7], [2,1,4,3,6,5,5,8]).statistic
    @Test func tauBAgainstScipy() {
        let t = RankCorrelation.kendallTauB([1, 2, 3, 4, 5, 5, 6, 7], [2, 1, 4, 3, 6, 5, 5, 8]).tau
        #expect(abs(t - 0.7407407407407407) < 1e-12)
    }
}
