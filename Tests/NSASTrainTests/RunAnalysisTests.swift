import Foundation
import NSASSearchSpace
import NSASTrain
import Testing

/// Coverage and drift read back what the run did: every recorded path's sites are counted, the
/// archive's constraints once it is full, and exactly the op weights of sites no path trained
/// stay where they were.
@Suite(.serialized) struct RunAnalysisTests {
    @Test(.enabled(if: nsasTrainBinary != nil)) func coverageAndDriftAgreeWithTheRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-analysis-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/nsas"
        let (p, err) = try train(["--method", "nsas", "--archive-size", "2", "--epochs", "3", "--search-samples", "2", "--search-top", "1",
                                  "--out", run] + KillResumeTests.cnn, wait: true)
        #expect(p.terminationStatus == 0, "\(err)")

        let c = try RunAnalysis.coverage(run)
        #expect(c.epochs == [1, 2, 3] && c.cellTypes == ["normal", "reduce"] && c.hasArchive)
        #expect(c.allSites.count == 2 * 14 * 8)
        for e in c.epochs {
            for ct in 0..<2 {
                // 3 steps an epoch, 8 edges a cell type a path.
                #expect(c.current[e]!.filter { $0.key.cellType == ct }.values.reduce(0, +) == 3 * 8)
                // The archive (2 members) fills during the first 2 steps of the run; afterwards every step trains both.
                let full = e == 1 ? 1 : 3
                #expect(c.constraint[e]!.filter { $0.key.cellType == ct }.values.reduce(0, +) == full * 2 * 8)
            }
        }
        #expect(c.members.count >= 2 && c.members.prefix(2).map(\.arrivedStep) == [0, 1])

        var untrained = 0, trained = 0
        for (a, b) in [(1, 2), (2, 3)] {
            for r in try RunAnalysis.drift(run, from: a, to: b, by: .tensor, paths: true) {
                if r.split == "untrained" { untrained += 1; #expect(r.relativeChange == 0, "\(r.group) moved without being trained") }
                if r.split == "trained" { trained += 1 }
            }
        }
        #expect(untrained > 0 && trained > 0)
        let ops = try RunAnalysis.drift(run, from: nil, to: nil, by: .op, paths: false)
        #expect(ops.allSatisfy { $0.from == 1 && $0.to == 3 && $0.split == "all" })
        #expect(ops.contains { $0.group == "sep_conv_3x3" && $0.relativeChange > 0 && $0.cosine < 1 })

        // Pictures: a heat map per cell type, drift per epoch.
        for (plot, extra) in [("coverage", [String]()), ("drift", ["--paths"])] {
            let png = dir + "/\(plot).png"
            let r = try command("nsas-draw", ["plot", plot, "--run", run, "--out", png] + extra)
            #expect(r.status == 0, "\(r.err)")
            let head = FileManager.default.contents(atPath: png).map { [UInt8]($0.prefix(4)) }
            #expect(head == [0x89, 0x50, 0x4e, 0x47], "\(plot) wrote no PNG")
        }
        let epochBad = try command("nsas-draw", ["plot", "coverage", "--run", run, "--epoch", "9", "--out", dir + "/x.png"])
        #expect(epochBad.status == 64 && epochBad.err.contains("epochs 1, 2, 3"), "\(epochBad.err)")

        // Command line: tables, CSV, JSON, and one-line errors.
        #expect(try command("nsas-ckpt", ["coverage", run, "--csv"]).status == 0)
        #expect(try command("nsas-ckpt", ["coverage", run, "--archive", "--json"]).status == 0)
        #expect(try command("nsas-ckpt", ["drift", run, "--paths", "--per-epoch", "--json"]).status == 0)
        let bad = try command("nsas-ckpt", ["drift", run, "--from", "3", "--to", "1"])
        #expect(bad.status == 1 && bad.err.contains("--from before --to"), "\(bad.err)")
        let by = try command("nsas-ckpt", ["drift", run, "--by", "layer"])
        #expect(by.status == 64 && by.err.contains("--by must be op, cell, edge or tensor"), "\(by.err)")
    }

    /// The same in the NAS-Bench-201 space: its archive members and paths are read back too.
    @Test(.enabled(if: nsasTrainBinary != nil)) func coverageOfANB201Run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-analysis-nb201-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (p, err) = try train(["--space", "nb201", "--method", "nsas", "--archive-size", "2", "--epochs", "2", "--search-samples", "2",
                                  "--search-top", "1", "--data", "default", "--channels", "4", "--cells-per-stage", "1", "--max-steps", "3",
                                  "--batch", "16", "--eval-batch", "500", "--out", dir + "/run"], wait: true)
        #expect(p.terminationStatus == 0, "\(err)")
        let c = try RunAnalysis.coverage(dir + "/run")
        #expect(c.epochs == [1, 2] && c.cellTypes == ["cell"] && c.hasArchive && c.allSites.count == 6 * 5)
        for e in c.epochs { #expect(c.current[e]!.values.reduce(0, +) == 3 * 6) }   // 3 steps, 6 edges a path
        #expect(c.constraint[2]!.values.reduce(0, +) == 3 * 2 * 6)                  // the full archive every step of epoch 2
    }
}
