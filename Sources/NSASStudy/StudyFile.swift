import Foundation
import TOMLKit

/// A study's one-line error, naming the file and what is wrong.
public struct StudyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One arm of a study: a search method with options, trained for every seed.
public struct Arm: Sendable, Equatable, Codable {
    public var name: String
    public var method: String
    public var args: [String]
    /// The name in tables and plots (default: the arm's name).
    public var label: String
    /// A published final tau to print beside this arm's (e.g. the paper's Figure 4a).
    public var paperTau: Double?
}

/// A study file (TOML; docs/study.md describes every key).
public struct StudyFile: Sendable, Codable, Equatable {
    public struct Truth: Sendable, Codable, Equatable {
        /// Architectures sampled uniformly with `sampleSeed`, or listed in `list` (a file, relative to the study file).
        public var sample: Int?
        public var sampleSeed: UInt64
        public var list: String?
        public var allowNone: Bool?
        public var epochs: Int
        public var seeds: [UInt64]
        public var args: [String]
        /// A table that already holds the ground truth (NAS-Bench-201's, from Tools/get-nb201): a CSV
        /// with an `arch` column and one column per truth seed (`columns`), nothing trained.
        public var table: String? = nil
        public var columns: [String] = []
    }

    public struct Rank: Sendable, Codable, Equatable {
        public var valBatches: Int?
        /// Each value a ranking of every search: 0 keeps the running BN statistics, N > 0 recomputes
        /// each path's statistics from N training batches.
        public var bnRecalibrate: [Int]
        public var topK: Int?
    }

    public var name: String
    public var space: String
    public var data: String
    public var seeds: [UInt64]
    public var epochs: Int
    public var threads: Int
    public var trainArgs: [String]
    public var searchArgs: [String]
    public var track: Int
    public var out: String
    public var baseline: String
    public var focus: String?
    public var computeMatched: String?
    public var arms: [Arm]
    public var truth: Truth
    public var rank: Rank

    /// Options the study sets itself: refused in `train_args`, `search_args`, arm and truth `args`.
    static let reserved = ["--out", "--seed", "--method", "--epochs", "--threads", "--data", "--space", "--resume", "--archs",
                           "--genotype", "--track", "--overwrite", "--quiet"]
    static let methods = ["randomnas", "nsas", "randomnas-nsas", "gdas", "gdas-nsas", "wpl"]

    /// Reads and checks a study file; `path` is named in every error.
    public static func load(_ path: String) throws -> StudyFile {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw StudyError("\(path): no such study file")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StudyError("\(path): not a UTF-8 text file") }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> StudyFile {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw StudyError("\(path):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
        } catch { throw StudyError("\(path): not a TOML file: \(error)") }
        var top = Keys(table, "", path)
        let name = try top.string("name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw StudyError("\(path): name must be letters, digits, '-', '_' or '.', not \"\(name)\"")
        }
        var s = StudyFile(name: name, space: try top.string("space", "cnn"), data: try top.string("data", "default"),
                          seeds: try top.seeds("seeds"), epochs: try top.int("epochs", in: 1...100_000), threads: try top.int("threads", 1, in: 1...1024),
                          trainArgs: try top.strings("train_args", []), searchArgs: try top.strings("search_args", []),
                          track: try top.int("track", 4, in: 0...1000), out: try top.string("out", "runs/study-\(name)"),
                          baseline: "", focus: nil, computeMatched: nil, arms: [],
                          truth: Truth(sample: nil, sampleSeed: 0, list: nil, allowNone: nil, epochs: 1, seeds: [0], args: []),
                          rank: Rank(valBatches: nil, bnRecalibrate: [0], topK: nil))
        let baseline = try top.optionalString("baseline")
        s.focus = try top.optionalString("focus")
        s.computeMatched = try top.optionalString("compute_matched")

        var t = try top.table("truth")
        s.truth.sample = try t.optionalInt("sample", in: 2...1_000_000)
        s.truth.sampleSeed = UInt64(try t.int("sample_seed", 1000, in: 0...Int.max))
        s.truth.list = try t.optionalString("list")
        s.truth.allowNone = try t.optionalBool("allow_none")
        s.truth.table = try t.optionalString("table")
        if s.truth.table != nil {
            s.truth.columns = try t.strings("columns", ["accuracy"])
            guard !s.truth.columns.isEmpty, Set(s.truth.columns).count == s.truth.columns.count else {
                throw StudyError("\(path): [truth] columns must name distinct score columns of the table")
            }
            s.truth.epochs = 1
            s.truth.seeds = s.truth.columns.indices.map(UInt64.init)
        } else {
            s.truth.epochs = try t.int("epochs", in: 1...100_000)
            s.truth.seeds = try t.seeds("seeds")
        }
        s.truth.args = try t.strings("args", [])
        try t.finish()
        guard (s.truth.sample == nil) != (s.truth.list == nil) else { throw StudyError("\(path): [truth] needs one of sample = N or list = \"FILE\"") }
        if let list = s.truth.list, !list.hasPrefix("/") {
            s.truth.list = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(list)
        }

        if table["rank"] != nil {
            var r = try top.table("rank")
            s.rank.valBatches = try r.optionalInt("val_batches", in: 1...1_000_000)
            s.rank.bnRecalibrate = try r.ints("bn_recalibrate", [0], in: 0...10_000)
            s.rank.topK = try r.optionalInt("top_k", in: 1...1_000_000)
            try r.finish()
            guard Set(s.rank.bnRecalibrate).count == s.rank.bnRecalibrate.count else { throw StudyError("\(path): [rank] bn_recalibrate repeats a value") }
        }

        top.used.insert("arms")
        guard let armTables = table["arms"]?.array, !armTables.isEmpty else {
            throw StudyError("\(path): needs at least one [[arms]] table (name, method, args)")
        }
        for (i, v) in armTables.enumerated() {
            guard let at = v.table else { throw StudyError("\(path): arms[\(i)] is not a table") }
            var a = Keys(at, "arms[\(i)]", path)
            let armName = try a.string("name")
            guard !armName.isEmpty, armName.allSatisfy({ $0.isLetter || $0.isNumber || "-_".contains($0) }) else {
                throw StudyError("\(path): arms[\(i)] name must be letters, digits, '-' or '_', not \"\(armName)\"")
            }
            let method = try a.string("method")
            guard methods.contains(method) else { throw StudyError("\(path): arms[\(i)] (\(armName)) method must be one of \(methods.joined(separator: ", ")), not \"\(method)\"") }
            var arm = Arm(name: armName, method: method, args: try a.strings("args", []), label: try a.string("label", armName))
            if let v = a.value("paper_tau") {
                guard let d = v.double ?? v.int.map(Double.init), (-1...1).contains(d) else { throw a.fail("paper_tau", "must be a number from -1 to 1") }
                arm.paperTau = d
            }
            s.arms.append(arm)
            try a.finish()
        }
        try top.finish()
        let names = s.arms.map(\.name)
        guard Set(names).count == names.count else { throw StudyError("\(path): two arms have the same name") }
        s.baseline = baseline ?? names[0]
        if s.focus == nil, names.contains("nsas") { s.focus = "nsas" }
        for (key, arm) in [("baseline", s.baseline), ("focus", s.focus), ("compute_matched", s.computeMatched)] {
            if let arm, !names.contains(arm) { throw StudyError("\(path): \(key) = \"\(arm)\" names no arm (arms: \(names.joined(separator: ", ")))") }
        }
        for (what, args) in [("train_args", s.trainArgs), ("search_args", s.searchArgs), ("[truth] args", s.truth.args)] + s.arms.map({ ("arm \($0.name) args", $0.args) }) {
            if let bad = args.first(where: { a in reserved.contains { a == $0 || a.hasPrefix($0 + "=") } }) {
                throw StudyError("\(path): \(what) may not hold \(bad): the study sets it")
            }
        }
        return s
    }

    /// Where arguments of `--max-steps` and `--batch` say a task's epochs end (for cost estimates).
    func argument(_ name: String, in args: [String]) -> String? {
        var value: String?
        for (i, a) in args.enumerated() {
            if a == name, i + 1 < args.count { value = args[i + 1] }
            if a.hasPrefix(name + "=") { value = String(a.dropFirst(name.count + 1)) }
        }
        return value
    }
}

/// Typed access to one TOML table that remembers the keys read, so unknown keys (typos) are refused.
struct Keys {
    let table: TOMLTable, section: String, path: String
    var used: Set<String> = []
    init(_ table: TOMLTable, _ section: String, _ path: String) { self.table = table; self.section = section; self.path = path }

    var place: String { section.isEmpty ? path : "\(path): [\(section)]" }
    func fail(_ key: String, _ what: String) -> StudyError { StudyError("\(place) \(key) \(what)") }

    mutating func value(_ key: String) -> TOMLValueConvertible? { used.insert(key); return table[key] }

    mutating func string(_ key: String, _ fallback: String? = nil) throws -> String {
        guard let v = value(key) else { if let fallback { return fallback }; throw fail(key, "is missing") }
        guard let s = v.string else { throw fail(key, "must be a string") }
        return s
    }
    mutating func optionalString(_ key: String) throws -> String? {
        if table[key] == nil { used.insert(key); return nil }
        return try string(key)
    }
    mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw fail(key, "must be true or false") }
        return b
    }
    mutating func int(_ key: String, _ fallback: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
        guard let v = value(key) else { if let fallback { return fallback }; throw fail(key, "is missing") }
        guard let i = v.int else { throw fail(key, "must be an integer") }
        guard range.contains(i) else { throw fail(key, "must be between \(range.lowerBound) and \(range.upperBound), not \(i)") }
        return i
    }
    mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        if table[key] == nil { used.insert(key); return nil }
        return try int(key, in: range)
    }
    mutating func strings(_ key: String, _ fallback: [String]) throws -> [String] {
        guard let v = value(key) else { return fallback }
        guard let a = v.array else { throw fail(key, "must be an array of strings") }
        return try a.map { guard let s = $0.string else { throw fail(key, "must be an array of strings") }; return s }
    }
    mutating func ints(_ key: String, _ fallback: [Int], in range: ClosedRange<Int>) throws -> [Int] {
        guard let v = value(key) else { return fallback }
        if let i = v.int { guard range.contains(i) else { throw fail(key, "must be between \(range.lowerBound) and \(range.upperBound), not \(i)") }; return [i] }
        guard let a = v.array, !a.isEmpty else { throw fail(key, "must be an integer or a non-empty array of integers") }
        return try a.map {
            guard let i = $0.int else { throw fail(key, "must be an array of integers") }
            guard range.contains(i) else { throw fail(key, "values must be between \(range.lowerBound) and \(range.upperBound), not \(i)") }
            return i
        }
    }
    mutating func seeds(_ key: String) throws -> [UInt64] {
        let s = try ints(key, [], in: 0...Int.max)
        guard !s.isEmpty else { throw fail(key, "is missing (a list of seeds, e.g. [0, 1, 2])") }
        guard Set(s).count == s.count else { throw fail(key, "repeats a seed") }
        return s.map(UInt64.init)
    }
    mutating func table(_ key: String) throws -> Keys {
        guard let v = value(key) else { throw fail(key, "is missing (a [\(key)] table)") }
        guard let t = v.table else { throw fail(key, "must be a table") }
        return Keys(t, key, path)
    }
    func finish() throws {
        let unknown = table.keys.filter { !used.contains($0) }.sorted()
        if let k = unknown.first { throw StudyError("\(place) has an unknown key \"\(k)\"") }
    }
}
