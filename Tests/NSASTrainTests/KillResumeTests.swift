import Foundation
import NSASCheckpoint
import Testing

/// The nsas-train built beside the test bundle (swift test builds the executables too).
let nsasTrainBinary: String? = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent("nsas-train").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}()

/// Runs nsas-train; returns the process (and, waited for, its status and standard error).
func train(_ args: [String], wait: Bool = false) throws -> (Process, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: nsasTrainBinary!)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    let err = Pipe()
    p.standardError = wait ? err : FileHandle.nullDevice
    try p.run()
    guard wait else { return (p, "") }
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p, text)
}

@Suite(.serialized) struct KillResumeTests {
    static let cnn = ["--data", "default", "--max-steps", "3", "--layers", "3", "--channels", "4", "--batch", "16", "--eval-batch", "1000", "--quiet"]
    static var rnn: [String] {
        ["--space", "rnn", "--data", tinyCorpusFolder, "--hidden", "12", "--nodes", "4", "--batch", "8", "--bptt", "6", "--eval-batch", "4",
         "--lr", "10", "--max-steps", "6", "--quiet"]
    }
    /// Every method in both spaces.
    static var cases: [(String, [String])] {
        let search = ["--search-samples", "2", "--search-top", "1"], nsas = ["--archive-size", "2"]
        var out: [(String, [String])] = []
        for (space, base) in [("cnn", cnn), ("rnn", rnn)] {
            out += [("\(space)-randomnas", base + ["--method", "randomnas"] + search),
                    ("\(space)-nsas", base + ["--method", "nsas", "--archive-policy", space == "cnn" ? "novelty" : "random"] + nsas + search),
                    ("\(space)-wpl", base + ["--method", "wpl"] + search),
                    ("\(space)-gdas", base + ["--method", "gdas"]),
                    ("\(space)-gdas-nsas", base + ["--method", "gdas-nsas"] + nsas),
                    ("\(space)-standalone", base + ["--method", "standalone", "--genotype", space == "cnn" ? "DARTS_V2" : "rnn:tanh~0|relu~1|sigmoid~1|identity~2"])]
        }
        return out
    }

    /// Kills a run with SIGKILL at several moments after its first checkpoint, resuming each time;
    /// it must end with the same weights as an uninterrupted run, and every file present must verify.
    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable beside the test bundle"), arguments: cases)
    func killedRunResumesToTheSameWeights(_ name: String, _ args: [String]) throws {
        let base = NSTemporaryDirectory() + "nsas-kill-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        let common = args + ["--epochs", "3"]
        let (clean, _) = try train(common + ["--out", base + "/clean"])
        clean.waitUntilExit()
        #expect(clean.terminationStatus == 0)
        let dir = base + "/killed"
        let (first, _) = try train(common + ["--out", dir])
        while !FileManager.default.fileExists(atPath: dir + "/epoch-0001.nsasckpt") && first.isRunning { usleep(10_000) }
        usleep(100_000)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        var resumes = 0
        while !FileManager.default.fileExists(atPath: dir + "/epoch-0003.nsasckpt") && resumes < 6 {
            for f in try RunDirectory.files(dir) { try CheckpointFile(f).verify() }
            let (r, _) = try train(["--resume", dir, "--quiet"])
            usleep(useconds_t(150_000 + 150_000 * resumes))
            if r.isRunning { kill(r.processIdentifier, SIGKILL) }
            r.waitUntilExit()
            resumes += 1
        }
        if !FileManager.default.fileExists(atPath: dir + "/epoch-0003.nsasckpt") {
            let (r, _) = try train(["--resume", dir, "--quiet"]); r.waitUntilExit()
            #expect(r.terminationStatus == 0)
        }
        for f in try RunDirectory.files(dir) { try CheckpointFile(f).verify() }
        let a = try CheckpointFile(base + "/clean/epoch-0003.nsasckpt").tensors("weights")
        let b = try CheckpointFile(dir + "/epoch-0003.nsasckpt").tensors("weights")
        #expect(a == b, "the killed and resumed run ended with other weights")
    }

    /// Ground truth over an architecture list, killed during the first architecture and run again,
    /// continues that architecture from its checkpoint and writes the uninterrupted run's table.
    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable"))
    func killedGroundTruthContinues() throws {
        let base = NSTemporaryDirectory() + "nsas-kill-truth-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try Data("DARTS_V2\nNSAS\n".utf8).write(to: URL(fileURLWithPath: base + "/archs.txt"))
        let args = Self.cnn + ["--method", "standalone", "--archs", base + "/archs.txt", "--epochs", "3", "--auxiliary-weight", "0"]
        let (clean, _) = try train(args + ["--out", base + "/clean"]); clean.waitUntilExit()
        let (first, _) = try train(args + ["--out", base + "/killed"])
        while !FileManager.default.fileExists(atPath: base + "/killed/archs/0001/epoch-0001.nsasckpt") && first.isRunning { usleep(10_000) }
        usleep(50_000)
        kill(first.processIdentifier, SIGKILL); first.waitUntilExit()
        let (again, _) = try train(args + ["--out", base + "/killed"]); again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        func table(_ d: String) throws -> [[String]] {
            try String(contentsOfFile: d + "/truth.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
                .map { Array($0.prefix(5)) }   // leave out seconds
        }
        #expect(try table(base + "/clean") == table(base + "/killed"))
    }

    /// Options the chosen space or method does not use are refused with one line, exit code 64.
    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable"), arguments: [
        (["--method", "randomnas", "--wpl-eps", "2"], "--wpl-eps"),
        (["--method", "gdas", "--search-top", "3"], "--search-top"),
        (["--method", "randomnas", "--archive-policy", "fifo"], "NSAS options"),
        (["--space", "rnn", "--layers", "5"], "--layers"),
        (["--method", "nsas", "--hidden", "50"], "--hidden"),
        (["--method", "nsas", "--cutout", "8"], "--cutout"),
        (["--method", "standalone", "--genotype", "NSAS", "--track", "x.txt"], "--track"),
        (["--resume", "/nonexistent", "--epochs", "3"], "--resume"),
        (["--space", "nb301"], "nb301"),
    ])
    func inapplicableOptionsAreRefused(_ args: [String], _ named: String) throws {
        let (p, err) = try train(args, wait: true)
        #expect(p.terminationStatus != 0 && p.terminationStatus < 128)
        #expect(err.contains(named), "stderr: \(err)")
    }
}

/// `--threads 1` under `taskset -c 0`: the process has one thread from start to end (no worker
/// pool, no OpenBLAS server threads), sampled from /proc while it trains.
@Suite struct SingleThreadTests {
    @Test(.enabled(if: nsasTrainBinary != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset"), "needs nsas-train and taskset"))
    func oneThreadRunsNoSecondThread() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        p.arguments = ["-c", "0", nsasTrainBinary!, "--threads", "1", "--epochs", "2", "--layers", "5", "--channels", "8", "--batch", "32",
                       "--max-steps", "40", "--search-samples", "1", "--search-top", "1", "--quiet"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        var samples: [Int] = []
        usleep(300_000)   // taskset execs nsas-train in the same process
        while p.isRunning && samples.count < 30 {
            if let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p.processIdentifier)/task") { samples.append(tasks.count) }
            usleep(100_000)
        }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(samples.count >= 3 && samples.allSatisfy { $0 == 1 }, "thread counts seen: \(samples)")
    }
}

/// Run folders: one writer at a time, no silent overwrite, a clean resume.
@Suite(.serialized) struct RunFolderTests {
    static let tiny = ["--data", "default", "--layers", "3", "--channels", "4", "--batch", "16", "--max-steps", "2", "--eval-batch", "1000",
                       "--search-samples", "1", "--search-top", "1", "--quiet"]

    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable"))
    func outOnARunIsRefusedUnlessOverwrite() throws {
        let dir = freshDir("folder-out")
        let (a, _) = try train(Self.tiny + ["--epochs", "1", "--out", dir], wait: true)
        #expect(a.terminationStatus == 0)
        let (b, err) = try train(Self.tiny + ["--epochs", "1", "--out", dir], wait: true)
        #expect(b.terminationStatus == 1 && err.contains("holds a run") && err.contains("--overwrite"), "\(err)")
        let (c, _) = try train(Self.tiny + ["--epochs", "1", "--out", dir, "--overwrite"], wait: true)
        #expect(c.terminationStatus == 0)
        let parent = (dir as NSString).deletingLastPathComponent, base = (dir as NSString).lastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).contains { $0.hasPrefix(base + ".replaced-") })
    }

    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable"))
    func aSecondWriterIsRefusedWhileTheFirstRuns() throws {
        let dir = freshDir("folder-lock")
        let (first, _) = try train(["--data", "default", "--layers", "5", "--channels", "8", "--epochs", "3", "--search-samples", "1",
                                    "--search-top", "1", "--quiet", "--out", dir])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) }; first.waitUntilExit() }
        while !FileManager.default.fileExists(atPath: dir + "/.lock") && first.isRunning { usleep(20_000) }
        usleep(200_000)
        let (second, err) = try train(["--resume", dir], wait: true)
        #expect(second.terminationStatus == 1 && err.contains("another nsas-train"), "\(err)")
    }

    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable"))
    func resumeRemovesTemporariesAndLaterRecords() throws {
        let dir = freshDir("folder-resume")
        let (a, _) = try train(Self.tiny + ["--epochs", "2", "--out", dir], wait: true)
        #expect(a.terminationStatus == 0)
        // What a killed run can leave: a torn write's temporary file, records of an epoch beyond the newest checkpoint.
        try Data().write(to: URL(fileURLWithPath: dir + "/.epoch-0003.nsasckpt.tmp-99999"))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/metrics.jsonl"))
        h.seekToEndOfFile(); h.write(Data("{\"event\":\"epoch\",\"epoch\":3}\n{\"event\":\"epo".utf8)); try h.close()
        let (r, err) = try train(["--resume", dir, "--quiet"], wait: true)
        #expect(r.terminationStatus == 0, "\(err)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!names.contains { $0.contains(".tmp-") })
        let records = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(!records.contains { $0["epoch"] as? Int == 3 } && records.filter { $0["event"] as? String == "selection" }.count == 1)
    }
}

/// Numbers out of range are one line and an exit code below 128 before anything is allocated
/// (each of these once crashed, hung or ran for minutes).
@Suite struct BoundsTests {
    @Test(.enabled(if: nsasTrainBinary != nil, "needs the executables beside the test bundle"), arguments: [
        ("nsas-tau", ["a.csv", "b.csv", "--bootstrap=-1"], "--bootstrap"),
        ("nsas-rank", ["--checkpoint", "x", "--val-batches=-1", "--sample", "3"], "--val-batches"),
        ("nsas-rank", ["--checkpoint", "x", "--val-batches", "0", "--sample", "3"], "--val-batches"),
        ("nsas-rank", ["--checkpoint", "x", "--sample=-1"], "--sample"),
        ("nsas-rank", ["sample", "1000000000000"], "count"),
        ("nsas-train", ["--channels", "100000"], "--channels"),
        ("nsas-train", ["--layers", "100000"], "--layers"),
        ("nsas-train", ["--epochs", "0"], "--epochs"),
        ("nsas-train", ["--space", "rnn", "--data", "x", "--hidden", "10000000"], "--hidden"),
    ])
    func outOfRangeNumbersAreOneLine(_ tool: String, _ args: [String], _ named: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: (nsasTrainBinary! as NSString).deletingLastPathComponent + "/" + tool)
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice; p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0 && p.terminationStatus < 128 && text.contains(named), "\(tool) \(args): \(text)")
    }
}
