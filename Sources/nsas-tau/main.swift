import ArgumentParser
import Foundation
import NSASAnalysis
import NSASCLI

@main
struct NSASTau: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-tau",
        abstract: "Compare two rankings of architectures: Kendall tau-b, Spearman rho, p-value, bootstrap interval, top-k precision, regret.",
        discussion: """
        Both files are CSV with a header; rows are joined on the `arch` column, an opaque key (any text: genotypes,
        NAS-Bench-201 strings, ...). The score column is `accuracy` (or `perplexity` when a file has no accuracy).
        Scores are higher-is-better, except columns named perplexity, ppl, loss or error (also valid_perplexity,
        test_error, ...), which are lower-is-better by themselves; --a-lower-better / --b-lower-better force it. --per-epoch groups A by its `epoch` column: one row per epoch (the paper's Figure 3 as a table).
        """)

    @Argument(help: "Ranking A (e.g. supernet scores).") var a: String
    @Argument(help: "Ranking B (e.g. stand-alone ground truth).") var b: String
    @Option(help: "Score column of A (default: accuracy, or perplexity).") var aScore: String?
    @Option(help: "Score column of B (default: accuracy, or perplexity).") var bScore: String?
    @Flag(help: "Lower scores in A are better.") var aLowerBetter = false
    @Flag(help: "Lower scores in B are better.") var bLowerBetter = false
    @Option(help: "k of the top-k precision (default: 10% of the common architectures).") var topK: Int?
    @Option(help: "Bootstrap resamples for the 95% interval.") var bootstrap = 1000
    @Option(help: "Seed of the bootstrap.") var seed: UInt64 = 0

    func validate() throws {
        guard (0...100_000).contains(bootstrap) else { throw ValidationError("--bootstrap must be between 0 and 100000, not \(bootstrap)") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, not \(topK)") }
    }
    @Flag(help: "One row per epoch of A's `epoch` column.") var perEpoch = false
    @Flag(help: "Leave out rows whose score is not a finite number (NaN, inf, 1e400) and say how many, instead of refusing the file.") var dropNan = false
    @Flag(help: "JSON: one object (an array with --per-epoch).") var json = false
    @Flag(help: "With --per-epoch: CSV rows instead of a table.") var csv = false

    func run() throws {
        try runReportingErrors("nsas-tau") {
            let ta = try CSVTable.read(a), tb = try CSVTable.read(b)
            let sa = aScore ?? ScoreColumn.defaultScore(ta), sb = bScore ?? ScoreColumn.defaultScore(tb)
            let ca = ScoreColumn(table: ta, path: a, score: sa, lowerIsBetter: aLowerBetter || ScoreColumn.lowerIsBetter(name: sa), dropNonFinite: dropNan)
            let cb = ScoreColumn(table: tb, path: b, score: sb, lowerIsBetter: bLowerBetter || ScoreColumn.lowerIsBetter(name: sb), dropNonFinite: dropNan)
            if dropNan {
                for (c, p) in [(ca, a), (cb, b)] {
                    let n = try c.nonFiniteRows()
                    if n > 0 { FileHandle.standardError.write(Data("nsas-tau: left out \(n) row(s) of \(p) whose \(c.score) is not a finite number\n".utf8)) }
                }
            }
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            if perEpoch {
                let rows = try TauReport.perEpoch(ca, cb, topK: topK, bootstrap: bootstrap, seed: seed)
                let ei = try ta.column("epoch", path: a)
                let cover = try rows.map { r in try TauReport.coverage(ca, cb) { $0[ei] == r.epoch } }
                for (r, c) in zip(rows, cover) where c.onlyA + c.onlyB > 0 {
                    FileHandle.standardError.write(Data("nsas-tau: epoch \(r.epoch): \(c.common) architectures in both; \(c.onlyA) only in \(a), \(c.onlyB) only in \(b) (left out)\n".utf8))
                }
                if json {
                    let objs = try zip(rows, cover).map { r, c -> [String: Any] in
                        var o = try JSONSerialization.jsonObject(with: enc.encode(r.agreement)) as! [String: Any]
                        o["epoch"] = Int(r.epoch) ?? 0
                        o["only_in_a"] = c.onlyA; o["only_in_b"] = c.onlyB
                        return o
                    }
                    print(String(decoding: try JSONSerialization.data(withJSONObject: objs, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    print(csv ? "epoch,n,kendall_tau_b,spearman_rho,p_value,ci95_low,ci95_high,top_k_precision,regret" : "epoch     n   tau-b    rho     p-value   95% interval        top-k   regret")
                    for (e, g) in rows {
                        print(csv ? "\(e),\(g.n),\(g.kendallTauB),\(g.spearmanRho),\(g.pValue),\(g.ci95[0]),\(g.ci95[1]),\(g.topKPrecision),\(g.regret)"
                              : e.padding(toLength: 6, withPad: " ", startingAt: 0) + String(format: " %4d  %6.3f  %6.3f  %9.3g  [%6.3f, %6.3f]  %5.2f  %7.4f", g.n, g.kendallTauB, g.spearmanRho,
                                       g.pValue, g.ci95[0], g.ci95[1], g.topKPrecision, g.regret))
                    }
                }
                return
            }
            let g = try TauReport.compare(ca, cb, topK: topK, bootstrap: bootstrap, seed: seed)
            let c = try TauReport.coverage(ca, cb)
            if json {
                var o = try JSONSerialization.jsonObject(with: enc.encode(g)) as! [String: Any]
                o["only_in_a"] = c.onlyA; o["only_in_b"] = c.onlyB
                print(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("n                \(g.n)" + (c.onlyA + c.onlyB > 0 ? " (left out: \(c.onlyA) only in \(a), \(c.onlyB) only in \(b))" : ""))
            print(String(format: "Kendall tau-b    %.4f (p = %.3g)", g.kendallTauB, g.pValue))
            print(String(format: "95%% interval     [%.4f, %.4f] (bootstrap, %d resamples)", g.ci95[0], g.ci95[1], bootstrap))
            print(String(format: "Spearman rho     %.4f", g.spearmanRho))
            print(String(format: "top-%d precision  %.3f", g.topK, g.topKPrecision))
            print(String(format: "regret           %.4f (B's best minus B's score of A's best)", g.regret))
        }
    }
}
