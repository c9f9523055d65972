import Foundation
import NSASAnalysis
import NSASRun
import NSASSearchSpace

/// One task of a study: an independent unit of work with its own folder (a job-array element).
public struct StudyTask: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Stand-alone training of architecture `arch` (0-based in archs.txt) with a ground-truth seed.
        case truth(arch: Int, seed: UInt64)
        /// A supernet search of one arm and seed, then its rankings (every epoch, every BN mode).
        case search(arm: Arm, seed: UInt64)
    }
    public var index: Int
    public var kind: Kind
    /// A name that says what it is (`truth-a007-s1`, `search-nsas-s3`).
    public var id: String
    /// The folder, relative to the study's output folder.
    public var folder: String
    /// Estimated cost in path passes (a path's forward and backward on one training batch).
    public var cost: Double?
}

/// The tasks of a study in a fixed order: ground truth (architecture by architecture, each with
/// every truth seed), then searches (seed by seed, each with every arm). Task indices are what
/// `--task`, SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX select.
public struct StudyPlan: Sendable {
    public let study: StudyFile
    public let out: String
    public let archs: [String]
    public let tasks: [StudyTask]

    public init(_ study: StudyFile, out: String? = nil) throws {
        self.study = study
        self.out = out ?? study.out
        archs = try StudyPlan.architectures(study)
        var tasks: [StudyTask] = []
        let truthCost = StudyPlan.stepsPerEpoch(study, args: study.trainArgs + study.truth.args).map { Double(study.truth.epochs * $0) }
        for a in archs.indices where study.truth.table == nil {
            for s in study.truth.seeds {
                let id = String(format: "truth-a%03d-s%llu", a + 1, s)
                tasks.append(StudyTask(index: tasks.count, kind: .truth(arch: a, seed: s), id: id,
                                       folder: String(format: "truth/s%llu/a%03d", s, a + 1), cost: truthCost))
            }
        }
        for s in study.seeds {
            for arm in study.arms {
                tasks.append(StudyTask(index: tasks.count, kind: .search(arm: arm, seed: s), id: "search-\(arm.name)-s\(s)",
                                       folder: "search/\(arm.name)/s\(s)", cost: StudyPlan.searchCost(study, arm: arm, archs: archs.count)))
            }
        }
        self.tasks = tasks
    }

    /// The ground-truth architectures: the listed file, or `sample` drawn by the space's uniform sampler.
    static func architectures(_ study: StudyFile) throws -> [String] {
        let type = try SpaceRegistry.type(named: study.space)
        let archs: [String]
        if let list = study.truth.list {
            archs = try canonicalList(list, type)
        } else {
            let allowNone = try study.truth.allowNone ?? RunConfig.defaults(space: id(type), method: .randomnas).allowNone
            archs = try Ranking.sample(space: id(type), count: study.truth.sample!, seed: study.truth.sampleSeed, allowNone: allowNone)
        }
        guard Set(archs).count == archs.count else { throw StudyError("the ground-truth list holds an architecture twice") }
        guard archs.count >= 2 else { throw StudyError("the ground truth needs at least 2 architectures") }
        if let table = study.truth.table { _ = try TruthTable(table, columns: study.truth.columns, archs: archs) }
        return archs
    }

    static func id<S: SearchSpace>(_ t: S.Type) -> SpaceID { S.id }
    static func canonicalList<S: SearchSpace>(_ path: String, _ t: S.Type) throws -> [String] { try S.Arch.list(fromFile: path).map(\.canonical) }

    /// Training steps of an epoch where the arguments or the embedded data tell (else nil).
    static func stepsPerEpoch(_ study: StudyFile, args: [String]) -> Int? {
        if let m = study.argument("--max-steps", in: args).flatMap(Int.init), m > 0 { return m }
        guard study.data == "default", ["cnn", "darts-cnn"].contains(study.space) else { return nil }
        let batch = study.argument("--batch", in: args).flatMap(Int.init) ?? 64
        return (4000 + batch - 1) / max(1, batch)
    }

    /// Path passes of a search (its steps times the passes of a step) and of its rankings (a
    /// forward counts 1/3; one ranking scores every architecture on the held-out batches).
    static func searchCost(_ study: StudyFile, arm: Arm, archs: Int) -> Double? {
        let args = study.trainArgs + study.searchArgs + arm.args
        guard let steps = stepsPerEpoch(study, args: args) else { return nil }
        let m = Double(study.argument("--archive-size", in: args).flatMap(Int.init) ?? 4)
        let compat = study.argument("--nsas-mode", in: args) == "reference-compat"
        let perStep: Double
        switch arm.method {
        case "randomnas": perStep = Double(study.argument("--paths-per-step", in: args).flatMap(Int.init) ?? 1)
        case "nsas", "randomnas-nsas": perStep = 1 + (compat ? m / 3 : m)
        case "gdas": perStep = 2
        case "gdas-nsas": perStep = 2 + (compat ? m / 3 : m)
        default: perStep = 1.2
        }
        let evalBatch = Double(study.argument("--eval-batch", in: args).flatMap(Int.init) ?? 256)
        let batch = Double(study.argument("--batch", in: args).flatMap(Int.init) ?? 64)
        let heldout = 1000.0
        let scored = study.rank.valBatches.map { min(Double($0) * evalBatch, heldout) } ?? heldout
        let ranking = study.rank.bnRecalibrate.reduce(0.0) { sum, bn in sum + scored / batch / 3 + Double(bn) / 3 }
        return Double(study.epochs * steps) * perStep + Double(study.epochs * archs) * ranking
    }

    public func task(_ i: Int) throws -> StudyTask {
        guard tasks.indices.contains(i) else {
            throw StudyError("task \(i) is out of range: \(study.name) has tasks 0 to \(tasks.count - 1)")
        }
        return tasks[i]
    }

    public func path(_ relative: String) -> String { (out as NSString).appendingPathComponent(relative) }

    /// A task is done when its folder holds `done.json` (written last, atomically).
    public func isDone(_ t: StudyTask) -> Bool { FileManager.default.fileExists(atPath: path(t.folder + "/done.json")) }
    public func isStarted(_ t: StudyTask) -> Bool { FileManager.default.fileExists(atPath: path(t.folder)) }

    /// Seconds a finished task took (from its done.json).
    public func seconds(_ t: StudyTask) -> Double? {
        guard let d = FileManager.default.contents(atPath: path(t.folder + "/done.json")),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return nil }
        return o["seconds"] as? Double
    }

    /// The plan as text: one line a task (index, id, cost, status) and the totals, with a time
    /// estimate from the tasks already finished.
    public func describe(jobs: Int) -> String {
        var lines = ["study \(study.name): \(tasks.count) tasks in \(out) (\(archs.count) architectures x \(study.truth.seeds.count) truth \(study.truth.table == nil ? "seeds" : "columns of a table"), "
                     + "\(study.arms.count) arms x \(study.seeds.count) seeds; rankings with BN recalibration "
                     + study.rank.bnRecalibrate.map { $0 == 0 ? "off" : "\($0) batches" }.joined(separator: " and ") + ")"]
        lines.append("task  id                              cost (path passes)  status")
        var done = 0, doneCost = 0.0, doneSeconds = 0.0, left = 0.0
        for t in tasks {
            let status: String
            if isDone(t) {
                done += 1
                let s = seconds(t) ?? 0
                if let c = t.cost { doneCost += c; doneSeconds += s }
                status = String(format: "done (%.0f s)", s)
            } else {
                left += t.cost ?? 0
                status = isStarted(t) ? "started" : "to do"
            }
            let cost = t.cost.map { String(format: "%.0f", $0) } ?? "?"
            lines.append(String(format: "%4d  ", t.index) + t.id.padding(toLength: 30, withPad: " ", startingAt: 0) + "  "
                         + String(repeating: " ", count: max(0, 18 - cost.count)) + cost + "  " + status)
        }
        let total = tasks.compactMap(\.cost).reduce(0, +)
        var summary = String(format: "%d of %d tasks done; total cost %.0f path passes, %.0f left", done, tasks.count, total, left)
        if doneCost > 0 {
            let perPass = doneSeconds / doneCost
            summary += String(format: "; at the %.3f s a pass measured so far, about %@ left with %d job(s)", perPass,
                              formatSeconds(left * perPass / Double(max(1, jobs))), jobs)
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }
}

func formatSeconds(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d h %02d min", t / 3600, t % 3600 / 60) : t >= 60 ? String(format: "%d min %02d s", t / 60, t % 60) : "\(t) s"
}

/// Ground truth read from a table instead of trained: each of `columns` is one truth seed, every
/// architecture of the study must have a row (joined by the `arch` string, as written).
struct TruthTable {
    /// scores[column][architecture]
    let scores: [[Double]]

    init(_ path: String, columns: [String], archs: [String]) throws {
        let t: CSVTable
        do { t = try CSVTable.read(path) } catch { throw StudyError("[truth] table: \(error)") }
        let ai = try t.column("arch", path: path)
        let ci = try columns.map { try t.column($0, path: path) }
        var rows: [String: [String]] = [:]
        for r in t.rows { rows[r[ai]] = r }
        scores = try ci.enumerated().map { k, c in
            try archs.map { a in
                guard let r = rows[a] else { throw StudyError("\(path): has no row for \(a) (the table must cover the study's space)") }
                guard let v = Double(r[c]), v.isFinite else { throw StudyError("\(path): \(columns[k]) of \(a) is '\(r[c])', not a number") }
                return v
            }
        }
    }
}
