import Foundation
import NSASSearchSpace
import Testing
@testable import NSASStudy

/// The NAS-Bench-201 pipeline at a tiny size on the embedded images: RandomNAS, NSAS and GDAS
/// searches in the NB201 space, every epoch ranked, tau against a ground-truth table looked up by
/// the benchmark's architecture strings (here a synthetic table of all 15,625 cells with two seed
/// columns, in the format Tools/get-nb201 writes; the numbers mean nothing, every piece runs).
@Suite(.serialized) struct NB201StudyTests {
    @Test(.enabled(if: binFolder != nil)) func tableTruthStudyRunsAndReports() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-nb201-study-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var table = "arch,accuracy,seeds,accuracy_seed_0,accuracy_seed_1,accuracy_seed_2,params,train_time,latency\n"
        for i in 0..<NB201Arch.count {
            let a = try NB201Arch(index: i)
            let convs = Double(a.ops.filter { $0 == .conv3x3 || $0 == .conv1x1 }.count)
            let s0 = 50 + 6 * convs + Double(i % 7), s1 = 50 + 6 * convs + Double(i % 5)
            table += "\(a.canonical),\((s0 + s1) / 2),2,\(s0),\(s1),,1,1,1\n"
        }
        try table.write(toFile: dir + "/nb201-test.csv", atomically: true, encoding: .utf8)
        let text = """
            name = "nb201-tiny"
            space = "nb201"
            seeds = [0]
            epochs = 2
            train_args = ["--channels", "4", "--cells-per-stage", "1", "--max-steps", "2", "--batch", "16", "--eval-batch", "500"]
            track = 2
            [truth]
            sample = 6
            table = "\(dir)/nb201-test.csv"
            columns = ["accuracy_seed_0", "accuracy_seed_1"]
            [rank]
            val_batches = 1
            [[arms]]
            name = "randomnas"
            method = "randomnas"
            args = ["--search-samples", "2", "--search-batches", "1", "--search-top", "1"]
            [[arms]]
            name = "nsas"
            method = "nsas"
            args = ["--archive-size", "2", "--search-samples", "2", "--search-batches", "1", "--search-top", "1"]
            [[arms]]
            name = "gdas"
            method = "gdas"
            """
        let file = dir + "/nb201.toml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let plan = try StudyPlan(StudyFile.load(file), out: dir + "/out")
        #expect(plan.tasks.count == 3, "only searches: the truth is looked up")
        #expect(plan.archs.allSatisfy { $0.hasPrefix("|") && $0.contains("~2|") })
        let (r, out) = try study(["run", file, "--out", dir + "/out", "--jobs", "2"])
        #expect(r.terminationStatus == 0, "\(out)")
        let tau = try String(contentsOfFile: dir + "/out/report/tau.csv", encoding: .utf8)
        // 3 arms x 1 seed x 1 BN mode x 2 epochs, each a finite tau.
        let rows = tau.split(separator: "\n").dropFirst()
        #expect(rows.count == 6, "\(tau)")
        let md = try String(contentsOfFile: dir + "/out/report/report.md", encoding: .utf8)
        #expect(md.contains("looked up in") && md.contains("accuracy_seed_0, accuracy_seed_1"))
        // The noise ceiling comes from the table's two seed columns.
        let noise = try String(contentsOfFile: dir + "/out/report/noise.csv", encoding: .utf8)
        #expect(noise.split(separator: "\n").count == 2, "\(noise)")

        // A table that lacks a sampled architecture is refused at plan time, naming it.
        let short = table.split(separator: "\n").prefix(100).joined(separator: "\n") + "\n"
        try short.write(toFile: dir + "/nb201-test.csv", atomically: true, encoding: .utf8)
        let (p, pOut) = try study(["plan", file, "--out", dir + "/other"])
        #expect(p.terminationStatus == 1 && pOut.contains("has no row for |"), "\(pOut)")
    }
}
