import Foundation
import NSASCheckpoint

/// Runs a study's tasks: one alone (`--task I`, a job-array element) by calling `nsas-train` and
/// `nsas-rank`, or every unfinished one locally, N at a time, each as its own `nsas-study run
/// --task I` process. A task writes only its own folder and marks itself finished with
/// `done.json`; a rerun skips finished tasks and resumes the others from their checkpoints.
public final class StudyRunner: @unchecked Sendable {
    public let plan: StudyPlan
    public let threads: Int
    /// The folder holding nsas-train, nsas-rank and nsas-study.
    public let bin: String
    /// Where progress lines go.
    let say: (String) -> Void

    public init(plan: StudyPlan, threads: Int? = nil, bin: String, say: @escaping (String) -> Void = { print($0); fflush(stdout) }) {
        self.plan = plan; self.threads = threads ?? plan.study.threads; self.bin = bin; self.say = say
    }

    var study: StudyFile { plan.study }
    var archsFile: String { plan.path("archs.txt") }
    var trackFile: String { plan.path("track.txt") }

    /// The folder's identity and shared inputs, written once (atomically; every task of a job
    /// array may do it at once and writes the same bytes): study.json (the settings that decide
    /// results), archs.txt (the ground-truth architectures), track.txt (those tracked every epoch).
    public func prepare() throws {
        try mkdir(plan.out)
        var identity = study
        identity.out = ""; identity.threads = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(identity) + Data("\n".utf8)
        let path = plan.path("study.json")
        if let old = FileManager.default.contents(atPath: path) {
            guard old == json else {
                throw StudyError("\(plan.out) holds a study with other settings (\(path)); give another --out or move it away")
            }
        } else {
            try writeFile(json, to: path)
        }
        try writeOnce(plan.archs.joined(separator: "\n") + "\n", to: archsFile)
        if study.track > 0 { try writeOnce(plan.archs.prefix(study.track).joined(separator: "\n") + "\n", to: trackFile) }
    }

    func writeOnce(_ text: String, to path: String) throws {
        if let old = FileManager.default.contents(atPath: path) {
            guard old == Data(text.utf8) else { throw StudyError("\(path) differs from what the study file gives; move the folder away") }
            return
        }
        try writeFile(Data(text.utf8), to: path)
    }

    // MARK: one task

    /// The child process a task is running (terminated when the task is).
    nonisolated(unsafe) static var current: Process?

    /// Runs task `i` to completion (a finished task returns at once).
    public func run(task i: Int) throws {
        let t = try plan.task(i)
        try prepare()
        if plan.isDone(t) { say("task \(i) (\(t.id)) is already done"); return }
        let folder = plan.path(t.folder)
        try mkdir(folder)
        let start = Date()
        say("task \(i) (\(t.id)): starting; log \(folder)/log.txt")
        switch t.kind {
        case .truth(let a, let seed):
            let archFile = folder + "/arch.txt"
            try writeOnce(plan.archs[a] + "\n", to: archFile)
            // nsas-train continues an interrupted ground truth in the same folder.
            try exec(t, "nsas-train", ["--method", "standalone", "--space", study.space, "--data", study.data, "--archs", archFile,
                                       "--epochs", String(study.truth.epochs), "--seed", String(seed), "--threads", String(threads)]
                                       + study.trainArgs + study.truth.args + ["--out", folder + "/train"])
        case .search(let arm, let seed):
            let train = folder + "/train", trained = folder + "/trained"
            if !FileManager.default.fileExists(atPath: trained) {
                if (try? RunDirectory.latest(train)) != nil {
                    try exec(t, "nsas-train", ["--resume", train, "--threads", String(threads)])
                } else {
                    var args = ["--method", arm.method, "--space", study.space, "--data", study.data, "--epochs", String(study.epochs),
                                "--seed", String(seed), "--threads", String(threads)]
                    if study.track > 0 { args += ["--track", trackFile] }
                    args += study.trainArgs + study.searchArgs + arm.args + ["--out", train]
                    // A folder without a checkpoint holds nothing to keep (killed before its first epoch ended).
                    if FileManager.default.fileExists(atPath: train) { args.append("--overwrite") }
                    try exec(t, "nsas-train", args)
                }
                try writeFile(Data("trained\n".utf8), to: trained)
            }
            for bn in study.rank.bnRecalibrate {
                let ranks = folder + "/ranks-bn\(bn).csv"
                if FileManager.default.fileExists(atPath: ranks) { continue }
                let tmp = folder + "/.ranks-bn\(bn).csv.tmp"
                var args = ["--checkpoint", train, "--archs", archsFile, "--bn-recalibrate", String(bn), "--threads", String(threads)]
                if let v = study.rank.valBatches { args += ["--val-batches", String(v)] }
                try exec(t, "nsas-rank", args + ["--out", tmp])
                try FileManager.default.moveItem(atPath: tmp, toPath: ranks)
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let done: [String: Any] = ["task": i, "id": t.id, "seconds": seconds, "threads": threads,
                                   "finished": ISO8601DateFormatter().string(from: Date())]
        try writeFile(try JSONSerialization.data(withJSONObject: done, options: [.sortedKeys]), to: folder + "/done.json")
        say(String(format: "task %d (%@): done in %@", i, t.id, formatSeconds(seconds)))
    }

    /// Runs one of the toolkit's commands for a task, its output appended to the task's log.
    func exec(_ t: StudyTask, _ tool: String, _ args: [String]) throws {
        let logPath = plan.path(t.folder + "/log.txt")
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw StudyError("\(logPath): cannot be written") }
        defer { try? log.close() }
        _ = try? log.seekToEnd()
        log.write(Data("$ \(tool) \(args.joined(separator: " "))\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin + "/" + tool)
        p.arguments = args
        p.standardOutput = log; p.standardError = log
        StudyRunner.lock.lock()
        while StudyRunner.stopping { StudyRunner.lock.unlock(); sleep(1); StudyRunner.lock.lock() }
        do { try p.run() } catch { StudyRunner.lock.unlock(); throw StudyError("\(bin)/\(tool) cannot be started: \(error)") }
        StudyRunner.current = p
        StudyRunner.lock.unlock()
        p.waitUntilExit()
        StudyRunner.current = nil
        guard p.terminationReason == .exit, p.terminationStatus == 0 else {
            let last = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
            let how = p.terminationReason == .exit ? "exit \(p.terminationStatus)" : "signal \(p.terminationStatus)"
            throw StudyError("task \(t.index) (\(t.id)): \(tool) failed (\(how)): \(last) (log: \(logPath))")
        }
    }

    // MARK: every task, locally

    /// Running `nsas-study run --task I` children (terminated on SIGINT/SIGTERM).
    nonisolated(unsafe) static var children: [Int32: Process] = [:]
    static let lock = NSLock()
    nonisolated(unsafe) static var stopping = false

    /// Runs every unfinished task, `jobs` at a time, longest first; returns the ids that failed.
    public func runAll(jobs: Int, studyPath: String) throws -> [String] {
        try prepare()
        let lockFd = open(plan.path(".run.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFd >= 0, flock(lockFd, LOCK_EX | LOCK_NB) == 0 else {
            throw StudyError("another nsas-study run is running \(plan.out) (it holds \(plan.path(".run.lock")))")
        }
        let pending = plan.tasks.filter { !plan.isDone($0) }.sorted { ($0.cost ?? 0) > ($1.cost ?? 0) || (($0.cost ?? 0) == ($1.cost ?? 0) && $0.index < $1.index) }
        let total = plan.tasks.count
        var finished = total - pending.count
        say("study \(study.name): \(pending.count) of \(total) tasks to run, \(jobs) at a time, \(threads) thread(s) each; output in \(plan.out)")
        if pending.isEmpty { return [] }
        try mkdir(plan.path("logs"))
        let sem = DispatchSemaphore(value: 0)
        final class Completed: @unchecked Sendable { var items: [(StudyTask, Process, Date)] = [] }
        let completed = Completed()
        var failed: [String] = []
        var next = 0, running = 0
        let started = Date()
        let pendingCost = pending.reduce(0.0) { $0 + ($1.cost ?? 1) }
        var doneCost = 0.0
        while next < pending.count || running > 0 {
            if running < jobs, next < pending.count {
                let t = pending[next]; next += 1
                let p = Process()
                p.executableURL = URL(fileURLWithPath: bin + "/nsas-study")
                p.arguments = ["run", studyPath, "--task", String(t.index), "--out", plan.out, "--threads", String(threads)]
                let logPath = plan.path(String(format: "logs/task-%04d.txt", t.index))
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
                let log = FileHandle(forWritingAtPath: logPath)
                p.standardOutput = log; p.standardError = log
                let t0 = Date()
                p.terminationHandler = { proc in
                    try? log?.close()
                    StudyRunner.lock.lock(); completed.items.append((t, proc, t0)); StudyRunner.children[proc.processIdentifier] = nil; StudyRunner.lock.unlock()
                    sem.signal()
                }
                StudyRunner.lock.lock()
                // Stopping (a signal arrived): start nothing more; the handler ends the process.
                while StudyRunner.stopping { StudyRunner.lock.unlock(); sleep(1); StudyRunner.lock.lock() }
                do { try p.run() } catch { StudyRunner.lock.unlock(); throw StudyError("\(bin)/nsas-study cannot be started: \(error)") }
                StudyRunner.children[p.processIdentifier] = p
                StudyRunner.lock.unlock()
                running += 1
                continue
            }
            sem.wait()
            StudyRunner.lock.lock(); let batch = completed.items; completed.items = []; StudyRunner.lock.unlock()
            for (t, p, t0) in batch {
                running -= 1; finished += 1
                let dt = Date().timeIntervalSince(t0)
                if p.terminationReason == .exit, p.terminationStatus == 0 {
                    let elapsed = Date().timeIntervalSince(started)
                    // Time left in proportion to the estimated cost left (task counts where costs are unknown).
                    doneCost += t.cost ?? 1
                    let eta = elapsed / doneCost * max(0, pendingCost - doneCost)
                    say(String(format: "[%d/%d] %@ done in %@ (elapsed %@, about %@ left)", finished, total, t.id, formatSeconds(dt),
                               formatSeconds(elapsed), formatSeconds(eta)))
                } else if !StudyRunner.stopping {
                    failed.append(t.id)
                    let logPath = plan.path(String(format: "logs/task-%04d.txt", t.index))
                    let last = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
                    say("[\(finished)/\(total)] \(t.id) FAILED: \(last)")
                }
            }
        }
        close(lockFd)
        return failed
    }

    /// Terminates the running child processes (the signal handlers call this).
    public static func terminateChildren() {
        lock.lock(); stopping = true; let all = Array(children.values) + [current].compactMap { $0 }; lock.unlock()
        let mine = all
        for p in mine where p.isRunning { p.terminate() }
        // Wait for them (their run-folder locks go with them), so a rerun right after finds the folders free.
        let deadline = Date().addingTimeInterval(10)
        while mine.contains(where: \.isRunning), Date() < deadline { usleep(20_000) }
    }
}

func mkdir(_ path: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw StudyError("\(path): cannot be created (\(error.localizedDescription))")
    }
}

/// Writes through a temporary file and a rename, so a reader sees the old file or the whole new one.
func writeFile(_ data: Data, to path: String) throws {
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw StudyError("\(path): cannot be written (\(error.localizedDescription))")
    }
}
