import NSASAnalysis
import Testing

@Suite struct TauReportTests {
    @Test func joinsOnArchAndHandlesDirection() throws {
        let a = try CSVTable.parse("arch,accuracy\nx,0.9\ny,0.8\nz,0.7\nonly-in-a,0.1\n")
        // B is perplexity: lower is better, so the same order.
        let b = try CSVTable.parse("arch,ppl,extra\nz,90,.\ny,80,.\nx,70,.\n")
        let g = try TauReport.compare(ScoreColumn(table: a, path: "a"), ScoreColumn(table: b, path: "b", score: "ppl", lowerIsBetter: true), bootstrap: 50)
        #expect(g.n == 3 && g.kendallTauB == 1)
        // The one architecture only A lists is counted, not silently dropped.
        let c = try TauReport.coverage(ScoreColumn(table: a, path: "a"), ScoreColumn(table: b, path: "b", score: "ppl"))
        #expect(c.common == 3 && c.onlyA == 1 && c.onlyB == 0)
        // Column names that say lower is better, and the default score column.
        #expect(ScoreColumn.lowerIsBetter(name: "perplexity") && ScoreColumn.lowerIsBetter(name: "valid_perplexity") && ScoreColumn.lowerIsBetter(name: "test_error"))
        #expect(!ScoreColumn.lowerIsBetter(name: "accuracy") && !ScoreColumn.lowerIsBetter(name: "errors_fixed"))
        #expect(ScoreColumn.defaultScore(try CSVTable.parse("arch,perplexity\nx,1\n")) == "perplexity" && ScoreColumn.defaultScore(a) == "accuracy")
        let flipped = try TauReport.compare(ScoreColumn(table: a, path: "a"), ScoreColumn(table: b, path: "b", score: "ppl"), bootstrap: 50)
        #expect(flipped.kendallTauB == -1)
        #expect(throws: TauError.self) { try TauReport.compare(ScoreColumn(table: a, path: "a"), ScoreColumn(table: try CSVTable.parse("arch,accuracy\nx,1\n"), path: "b")) }
        #expect(throws: CSVTable.CSVError.self) { try TauReport.compare(ScoreColumn(table: try CSVTable.parse("arch,accuracy\nx,high\ny,1\n"), path: "a"), ScoreColumn(table: a, path: "b")) }
    }

    @Test func perEpochRows() throws {
        let ranks = try CSVTable.parse("arch,accuracy,epoch\nx,0.1,1\ny,0.2,1\nz,0.3,1\nx,0.3,2\ny,0.2,2\nz,0.1,2\nx,0.3,10\ny,0.2,10\nz,0.1,10\n")
        let truth = try CSVTable.parse("arch,accuracy\nx,0.9\ny,0.8\nz,0.7\n")
        let rows = try TauReport.perEpoch(ScoreColumn(table: ranks, path: "r"), ScoreColumn(table: truth, path: "t"), bootstrap: 20)
        #expect(rows.map(\.epoch) == ["1", "2", "10"])
        #expect(rows.map(\.agreement.kendallTauB) == [-1, 1, 1])
        #expect(throws: TauError.self) { try TauReport.compare(ScoreColumn(table: ranks, path: "r"), ScoreColumn(table: truth, path: "t")) }
    }
}

@Suite struct DropNaNTests {
    /// `nsas-tau --drop-nan`: non-finite scores are left out and counted instead of refused.
    @Test func nonFiniteRowsAreLeftOutAndCounted() throws {
        let a = try CSVTable.parse("arch,accuracy\na,0.1\nb,nan\nc,0.3\nd,1e400\ne,0.2\n")
        let b = try CSVTable.parse("arch,accuracy\na,0.1\nb,0.5\nc,0.3\nd,0.9\ne,0.25\n")
        let strict = ScoreColumn(table: a, path: "a.csv"), loose = ScoreColumn(table: a, path: "a.csv", dropNonFinite: true)
        #expect(throws: CSVTable.CSVError.self) { try TauReport.compare(strict, ScoreColumn(table: b, path: "b.csv"), bootstrap: 0) }
        #expect(try loose.nonFiniteRows() == 2)
        let g = try TauReport.compare(loose, ScoreColumn(table: b, path: "b.csv"), bootstrap: 0)
        #expect(g.n == 3 && g.kendallTauB == 1)
    }
}
