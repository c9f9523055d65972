import Foundation

/// Joining two score tables on their `arch` column and comparing them.
public struct ScoreColumn: Sendable {
    public var table: CSVTable
    public var path: String
    public var score: String
    /// Negate the scores (perplexity, loss, error: lower is better).
    public var lowerIsBetter: Bool
    /// Leave out rows whose score is not a finite number (`nsas-tau --drop-nan`) instead of refusing them.
    public var dropNonFinite: Bool
    public init(table: CSVTable, path: String, score: String = "accuracy", lowerIsBetter: Bool = false, dropNonFinite: Bool = false) {
        self.table = table; self.path = path; self.score = score; self.lowerIsBetter = lowerIsBetter; self.dropNonFinite = dropNonFinite
    }

    /// Rows whose score is not a finite number.
    public func nonFiniteRows() throws -> Int {
        let si = try table.column(score, path: path)
        return table.rows.filter { !(Self.number($0[si])?.isFinite ?? false) }.count
    }

    /// A score field as a number; surrounding spaces allowed (trimmed only when the plain parse fails:
    /// trimming every field of a 200k-row table took most of `nsas-tau`'s time).
    static func number(_ s: String) -> Double? {
        Double(s) ?? Double(s.trimmingCharacters(in: .whitespaces))
    }

    /// Columns whose name says lower is better: perplexity, ppl, loss, error (also as a prefix or
    /// suffix: `valid_perplexity`, `test_error`).
    public static func lowerIsBetter(name: String) -> Bool {
        let n = name.lowercased()
        return ["perplexity", "ppl", "loss", "error", "err"].contains { n == $0 || n.hasSuffix("_" + $0) || n.hasPrefix($0 + "_") }
    }

    /// The score column to use when none is named: `accuracy`, else `perplexity`.
    public static func defaultScore(_ table: CSVTable) -> String {
        table.header.contains("accuracy") || !table.header.contains("perplexity") ? "accuracy" : "perplexity"
    }

    /// arch -> score (higher is better) over the rows `keep` accepts; duplicate architectures are an error.
    func scores(keep: ([String]) -> Bool = { _ in true }) throws -> [String: Double] {
        let ai = try table.column("arch", path: path), si = try table.column(score, path: path)
        var out: [String: Double] = [:]
        for (line, row) in table.rows.enumerated() where keep(row) {
            // NaN, infinities and overflowing numbers (1e400) are refused: one would silently move tau.
            guard let v = Self.number(row[si]), v.isFinite else {
                if dropNonFinite { continue }
                throw CSVTable.CSVError.notANumber(path: path, line: line + 2, column: score, value: row[si])
            }
            if out[row[ai]] != nil { throw TauError.duplicate(path: path, arch: row[ai]) }
            out[row[ai]] = lowerIsBetter ? -v : v
        }
        return out
    }
}

public enum TauError: Error, CustomStringConvertible, Equatable {
    case duplicate(path: String, arch: String)
    case tooFew(common: Int, detail: String)
    public var description: String {
        switch self {
        case .duplicate(let p, let a): return "\(p): architecture listed twice (\(a.prefix(60))...); add --per-epoch if the file has an epoch column"
        case .tooFew(let c, let d): return "only \(c) architecture(s) in common\(d); Kendall tau needs at least 2"
        }
    }
}

public enum TauReport {
    /// The agreement of A and B over the architectures both list.
    public static func compare(_ a: ScoreColumn, _ b: ScoreColumn, topK: Int? = nil, bootstrap: Int = 1000, seed: UInt64 = 0,
                               keepA: ([String]) -> Bool = { _ in true }) throws -> RankAgreement {
        let sa = try a.scores(keep: keepA), sb = try b.scores()
        let common = sa.keys.filter { sb[$0] != nil }.sorted()
        guard common.count >= 2 else { throw TauError.tooFew(common: common.count, detail: " between \(a.path) and \(b.path)") }
        return RankCorrelation.agreement(common.map { sa[$0]! }, common.map { sb[$0]! }, topK: topK, bootstrap: bootstrap, seed: seed)
    }

    /// How the join went: architectures in both, only in A (after `keepA`), only in B.
    public static func coverage(_ a: ScoreColumn, _ b: ScoreColumn, keepA: ([String]) -> Bool = { _ in true }) throws -> (common: Int, onlyA: Int, onlyB: Int) {
        let sa = Set(try a.scores(keep: keepA).keys), sb = Set(try b.scores().keys)
        return (sa.intersection(sb).count, sa.subtracting(sb).count, sb.subtracting(sa).count)
    }

    /// The architectures both list with their two scores (as the file has them, higher-is-better
    /// negation included), sorted by arch.
    public static func pairs(_ a: ScoreColumn, _ b: ScoreColumn, keepA: ([String]) -> Bool = { _ in true }) throws -> [(arch: String, a: Double, b: Double)] {
        let sa = try a.scores(keep: keepA), sb = try b.scores()
        return sa.keys.filter { sb[$0] != nil }.sorted().map { ($0, sa[$0]!, sb[$0]!) }
    }

    /// One agreement per value of A's `epoch` column, in numeric order.
    public static func perEpoch(_ a: ScoreColumn, _ b: ScoreColumn, topK: Int? = nil, bootstrap: Int = 1000, seed: UInt64 = 0) throws -> [(epoch: String, agreement: RankAgreement)] {
        let ei = try a.table.column("epoch", path: a.path)
        let epochs = Set(a.table.rows.map { $0[ei] }).sorted { (Double($0) ?? 0, $0) < (Double($1) ?? 0, $1) }
        return try epochs.map { e in (e, try compare(a, b, topK: topK, bootstrap: bootstrap, seed: seed) { $0[ei] == e }) }
    }
}
