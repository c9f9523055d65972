import ArgumentParser
import Foundation
import NSASCLI
import NSASStudy

@main
struct NSASStudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-study",
        abstract: "Paired, multi-seed, ablated studies: does a supernet rank architectures truthfully?",
        discussion: """
        A study file (TOML) names the space, data, arms (methods with options), seeds, epochs, the ground truth
        and the ranking options. Its tasks (ground truth per architecture and seed, search per arm and seed with
        its rankings) are independent: run them locally N at a time, or one per job-array element.
          nsas-study plan studies/paper-small.toml
          nsas-study run studies/paper-small.toml --jobs 2
          nsas-study run studies/paper-small.toml --task 7     (or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX)
          nsas-study report studies/paper-small.toml
        docs/study.md describes the file, the tasks and the report.
        """,
        subcommands: [Plan.self, Run.self, Report.self])
}

struct StudyOptions: ParsableArguments {
    @Argument(help: "The study file (TOML).") var study: String
    @Option(help: "Output folder (default: the study file's `out`, else runs/study-NAME).") var out: String?

    func plan() throws -> StudyPlan { try StudyPlan(StudyFile.load(study), out: out) }
}

/// The folder holding this executable (nsas-train and nsas-rank are beside it).
func binFolder() -> String {
    if let b = ProcessInfo.processInfo.environment["NSAS_BIN"], !b.isEmpty { return b }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (exe as NSString).deletingLastPathComponent
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the study's tasks with their estimated cost and status.")
    @OptionGroup var options: StudyOptions
    @Option(help: "Jobs to estimate the time left for.") var jobs: Int = 1

    func run() throws {
        try runReportingErrors("nsas-study plan") {
            guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 1024, not \(jobs)") }
            print(try options.plan().describe(jobs: jobs))
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the study's unfinished tasks (N at a time), or one task (--task, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX).")
    @OptionGroup var options: StudyOptions
    @Option(help: "Tasks at a time (default: the CPUs this process may use divided by --threads).") var jobs: Int?
    @Option(help: "Compute threads of each task (default: the study file's `threads`, else 1).") var threads: Int?
    @Option(help: "Run this task alone (0-based; `nsas-study plan` lists them).") var task: Int?

    func validate() throws {
        if let jobs, !(1...1024).contains(jobs) { throw ValidationError("--jobs must be between 1 and 1024, not \(jobs)") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024, not \(threads)") }
        if let task, task < 0 { throw ValidationError("--task must be 0 or more, not \(task)") }
    }

    /// The task of a job-array element: --task, else SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX.
    func selectedTask() throws -> Int? {
        if let task { return task }
        let env = ProcessInfo.processInfo.environment
        for name in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
            if let v = env[name], !v.isEmpty {
                guard let i = Int(v), i >= 0 else { throw ValidationError("\(name)=\(v) is not a task index") }
                return i
            }
        }
        return nil
    }

    func run() throws {
        try runReportingErrors("nsas-study run") {
            let plan = try options.plan()
            let runner = StudyRunner(plan: plan, threads: threads, bin: binFolder())
            for sig in [SIGINT, SIGTERM] { StudySignals.install(sig) }
            if let i = try selectedTask() {
                try runner.run(task: i)
                return
            }
            let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let j = jobs ?? max(1, cpus / runner.threads)
            let failed = try runner.runAll(jobs: j, studyPath: options.study)
            if !failed.isEmpty {
                throw StudyError("\(failed.count) task(s) failed: \(failed.joined(separator: ", ")); their logs are in \(plan.path("logs")); rerun to retry them")
            }
            let w = try StudyReport(plan: plan).write()
            print("every task is done; report: \(w.directory)/report.md")
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Gather the finished tasks into report.md, CSV files and figures.")
    @OptionGroup var options: StudyOptions
    @Option(help: "Report folder (default: OUT/report).") var to: String?

    func run() throws {
        try runReportingErrors("nsas-study report") {
            let w = try StudyReport(plan: options.plan()).write(to: to)
            print("\(w.directory)/report.md (\(w.done) of \(w.total) tasks done\(w.done < w.total ? ": a partial report" : ""))")
        }
    }
}

/// SIGINT and SIGTERM end the running tasks' processes before the study exits (their checkpoints
/// are written atomically, so a rerun resumes them). The handler only writes the signal number to
/// a pipe; a thread reading it does the work. A handler (unlike SIG_IGN, which a dispatch signal
/// source would need) is reset to the default in the processes the study starts, so they can be
/// terminated.
enum StudySignals {
    nonisolated(unsafe) static var pipeFds: [Int32] = [-1, -1]
    nonisolated(unsafe) static var started = false

    static func install(_ sig: Int32) {
        // A parent may have started us with the signal blocked (blocked masks are inherited).
        var set = sigset_t()
        sigemptyset(&set); sigaddset(&set, sig)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        if !started {
            started = true
            guard pipe(&pipeFds) == 0 else { return }
            Thread.detachNewThread {
                var n: Int32 = 0
                while read(StudySignals.pipeFds[0], &n, MemoryLayout<Int32>.size) != MemoryLayout<Int32>.size {}
                StudyRunner.terminateChildren()
                FileHandle.standardError.write(Data("nsas-study: stopped by signal \(n); rerun the same command to continue\n".utf8))
                exit(128 + n)
            }
        }
        signal(sig) { s in
            var n = s
            _ = write(StudySignals.pipeFds[1], &n, MemoryLayout<Int32>.size)
        }
    }
}
