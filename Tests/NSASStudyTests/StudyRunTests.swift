import Foundation
import Testing
@testable import NSASStudy

/// The executables built beside the test bundle (swift test builds them too).
let binFolder: String? = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("nsas-study").path) { return candidate.path }
    }
    return nil
}()

/// Runs nsas-study with `args` (and extra environment); returns exit status and output.
@discardableResult
func study(_ args: [String], env: [String: String] = [:], wait: Bool = true) throws -> (Process, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binFolder! + "/nsas-study")
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { _, b in b }
    let out = Pipe()
    p.standardOutput = out; p.standardError = out
    try p.run()
    guard wait else { return (p, "") }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p, text)
}

/// A study small enough for a debug build: 4 architectures x 2 truth seeds, 2 arms x 2 seeds.
@Suite(.serialized) struct StudyRunTests {
    static let text = """
        name = "tiny"
        seeds = [0, 1]
        epochs = 2
        train_args = ["--layers", "3", "--channels", "4", "--max-steps", "2", "--batch", "16", "--eval-batch", "500"]
        search_args = ["--search-samples", "2", "--search-batches", "1", "--search-top", "1"]
        track = 2
        [truth]
        sample = 4
        epochs = 1
        seeds = [0, 1]
        args = ["--auxiliary-weight", "0"]
        [rank]
        val_batches = 1
        bn_recalibrate = [0, 1]
        [[arms]]
        name = "randomnas"
        method = "randomnas"
        [[arms]]
        name = "nsas"
        method = "nsas"
        args = ["--archive-size", "2"]
        """
    static let csvs = ["tau.csv", "summary.csv", "paired.csv", "noise.csv", "compute.csv", "forgetting.csv"]

    func tmp(_ name: String) throws -> (dir: String, file: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-study-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/tiny.toml"
        try Self.text.write(toFile: file, atomically: true, encoding: .utf8)
        return (dir, file)
    }

    func csv(_ dir: String) throws -> [String: Data] {
        Dictionary(uniqueKeysWithValues: try Self.csvs.map { ($0, try Data(contentsOf: URL(fileURLWithPath: dir + "/report/" + $0))) })
    }

    /// A local run stopped by SIGTERM after two tasks finished, then rerun with two jobs: finished
    /// tasks are not run again. Then every task one by one as job-array elements (--task,
    /// SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX) and `report`: the same CSV bytes.
    @Test(.enabled(if: binFolder != nil)) func resumedLocalRunAndJobArrayAgree() throws {
        let (dir, file) = try tmp("runs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let local = dir + "/local", array = dir + "/array"

        let (k, _) = try study(["run", file, "--out", local, "--jobs", "1"], wait: false)
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            let done = (try? FileManager.default.subpathsOfDirectory(atPath: local))?.filter { $0.hasSuffix("done.json") }.count ?? 0
            if done >= 2 { break }
            usleep(100_000)
        }
        k.terminate()
        k.waitUntilExit()
        #expect(k.terminationStatus == 128 + SIGTERM)
        let (again, againOut) = try study(["run", file, "--out", local, "--jobs", "2"])
        #expect(again.terminationStatus == 0, "\(againOut)")
        #expect(againOut.contains("every task is done"))
        let first = againOut.split(separator: "\n").first.map(String.init) ?? ""
        let toRun = Int(first.components(separatedBy: "tiny: ").last?.split(separator: " ").first ?? "") ?? -1
        #expect(toRun >= 0 && toRun <= 10, "\(first)")
        let reference = try csv(local)
        let tau = String(decoding: reference["tau.csv"]!, as: UTF8.self)
        // 2 arms x 2 seeds x 2 BN modes x 2 epochs.
        #expect(tau.split(separator: "\n").count == 1 + 16)
        let plan = try StudyPlan(StudyFile.load(file), out: local)
        #expect(plan.tasks.count == 12)
        #expect(plan.tasks.allSatisfy { plan.isDone($0) })

        for i in plan.tasks.indices {
            let env: [String: String] = i % 3 == 1 ? ["SLURM_ARRAY_TASK_ID": String(i)] : i % 3 == 2 ? ["JOB_COMPLETION_INDEX": String(i)] : [:]
            let (q, o) = try study(["run", file, "--out", array] + (env.isEmpty ? ["--task", String(i)] : []), env: env)
            #expect(q.terminationStatus == 0, "task \(i): \(o)")
        }
        let (bad, badOut) = try study(["run", file, "--out", array, "--task", "12"])
        #expect(bad.terminationStatus == 1 && badOut.contains("task 12 is out of range: tiny has tasks 0 to 11"), "\(badOut)")
        let (r, rOut) = try study(["report", file, "--out", array])
        #expect(r.terminationStatus == 0, "\(rOut)")
        #expect(try csv(array) == reference)

        // The folder remembers its study: another study file is refused on it.
        try Self.text.replacingOccurrences(of: "epochs = 2", with: "epochs = 3").write(toFile: file, atomically: true, encoding: .utf8)
        let (other, otherOut) = try study(["run", file, "--out", local])
        #expect(other.terminationStatus == 1 && otherOut.contains("holds a study with other settings"), "\(otherOut)")
    }

    @Test(.enabled(if: binFolder != nil)) func planListsTasksAndStatus() throws {
        let (dir, file) = try tmp("plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (p, out) = try study(["plan", file, "--out", dir + "/out"])
        #expect(p.terminationStatus == 0, "\(out)")
        #expect(out.contains("12 tasks") && out.contains("truth-a004-s1") && out.contains("search-nsas-s1"))
        #expect(out.contains("0 of 12 tasks done"))
        let (q, qOut) = try study(["plan", dir + "/missing.toml"])
        #expect(q.terminationStatus == 1 && qOut.contains("missing.toml: no such study file"), "\(qOut)")
    }
}
