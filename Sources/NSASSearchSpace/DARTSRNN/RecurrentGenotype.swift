import Foundation
/// The op registry of the recurrent cell; the DARTS RNN space's list is `DARTSRNNSpace.ops`.
public enum RecurrentPrimitive: String, CaseIterable, Codable, Sendable {
    case none, tanh, relu, sigmoid, identity
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One node of a recurrent cell: its activation and the earlier state it reads (0 = s_0, the
/// state made from x_t and h_{t-1}; i = node i).
public struct RecurrentEdge: Hashable, Codable, Sendable {
    public var op: RecurrentPrimitive
    public var input: Int
    public init(_ op: RecurrentPrimitive, _ input: Int) { self.op = op; self.input = input }
}

/// A DARTS recurrent genotype: node i (1-based) reads state `recurrent[i-1].input` through
/// `recurrent[i-1].op`; the cell's output h_t is the mean of the `concat` nodes.
///
/// ```swift
/// let g = try RecurrentGenotype(parsing: "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ...], concat=range(1, 9))")
/// print(g.canonical)   // rnn:sigmoid~0|relu~1|...
/// ```
public struct RecurrentGenotype: Hashable, Codable, Sendable, CustomStringConvertible {
    public var recurrent: [RecurrentEdge]
    public var concat: [Int]
    public var nodes: Int { recurrent.count }

    enum CodingKeys: String, CodingKey { case recurrent, concat }

    /// Decoded genotypes (checkpoints, archives) are validated like parsed ones.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recurrent = try c.decode([RecurrentEdge].self, forKey: .recurrent); concat = try c.decode([Int].self, forKey: .concat)
        do { try validate() } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)")) }
    }

    public init(recurrent: [RecurrentEdge], concat: [Int]? = nil) throws {
        self.recurrent = recurrent
        self.concat = concat ?? Array(1...max(1, recurrent.count))
        try validate()
    }

    public func validate() throws {
        guard !recurrent.isEmpty else { throw GenotypeError("recurrent needs at least one node") }
        guard recurrent.count <= Genotype.maxNodes else {
            throw GenotypeError("recurrent has \(recurrent.count) nodes; a cell has at most \(Genotype.maxNodes)")
        }
        for (k, e) in recurrent.enumerated() where e.input < 0 || e.input > k {
            throw GenotypeError("recurrent node \(k + 1) reads state \(e.input); node \(k + 1) can read states 0..\(k)")
        }
        guard !concat.isEmpty, concat.allSatisfy({ $0 >= 1 && $0 <= recurrent.count }), Set(concat).count == concat.count else {
            throw GenotypeError("concat \(concat) must list distinct nodes among 1..\(recurrent.count)")
        }
    }

    /// The DARTS text form.
    public var description: String {
        let edges = recurrent.map { "('\($0.op.rawValue)', \($0.input))" }.joined(separator: ", ")
        let all = Array(1...recurrent.count)
        let c = concat == all ? "range(1, \(recurrent.count + 1))" : "[" + concat.map(String.init).joined(separator: ", ") + "]"
        return "Genotype(recurrent=[\(edges)], concat=\(c))"
    }

    /// The one-line form for CSV files: `rnn:op~input|...` (`;i.j...` after it when the concat is
    /// not every node).
    public var canonical: String {
        var s = "rnn:" + recurrent.map { "\($0.op.rawValue)~\($0.input)" }.joined(separator: "|")
        if concat != Array(1...recurrent.count) { s += ";" + concat.map(String.init).joined(separator: ".") }
        return s
    }

    /// Parses the DARTS text form, the one-line form, or a name (DARTS_V1, DARTS_V2, NSAS).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("Genotype") {
            var p = try GenotypeParser(t)
            let fields = try p.parseFields()
            for (key, (_, col)) in fields where key != "recurrent" && key != "concat" {
                throw GenotypeError("unknown field; a recurrent genotype has recurrent and concat", column: col, token: key)
            }
            guard let (v, col) = fields["recurrent"] else { throw GenotypeError("missing field 'recurrent'") }
            guard case .pairs(let pairs) = v else { throw GenotypeError("expected a list of ('op', input) pairs", column: col, token: "recurrent") }
            let edges = try pairs.map { op, input, c -> RecurrentEdge in
                guard let p = RecurrentPrimitive(rawValue: op) else {
                    throw GenotypeError("unknown op; the recurrent ops are \(RecurrentPrimitive.names)", column: c, token: op)
                }
                return RecurrentEdge(p, input)
            }
            var concat: [Int]? = nil
            if let (cv, ccol) = fields["concat"] {
                guard case .ints(let xs) = cv else { throw GenotypeError("expected a list of node indices", column: ccol, token: "concat") }
                concat = xs
            }
            try self.init(recurrent: edges, concat: concat)
        } else if t.hasPrefix("rnn:") {
            let parts = t.dropFirst(4).split(separator: ";", omittingEmptySubsequences: false)
            var col = 5
            let edges = try parts[0].split(separator: "|", omittingEmptySubsequences: false).map { item -> RecurrentEdge in
                defer { col += item.count + 1 }
                let pair = item.split(separator: "~", omittingEmptySubsequences: false)
                guard pair.count == 2, let input = Int(pair[1]) else { throw GenotypeError("expected 'op~input'", column: col, token: String(item)) }
                guard let op = RecurrentPrimitive(rawValue: String(pair[0])) else {
                    throw GenotypeError("unknown op; the recurrent ops are \(RecurrentPrimitive.names)", column: col, token: String(pair[0]))
                }
                return RecurrentEdge(op, input)
            }
            var concat: [Int]? = nil
            if parts.count == 2 {
                concat = try parts[1].split(separator: ".").map { guard let v = Int($0) else { throw GenotypeError("bad concat index", token: String($0)) }; return v }
            } else if parts.count > 2 {
                throw GenotypeError("expected ';i.j...' once after the nodes", token: t)
            }
            try self.init(recurrent: edges, concat: concat)
        } else if let g = RecurrentGenotype.byName[t] {
            self = g
        } else {
            throw GenotypeError("expected 'Genotype(recurrent=[...], concat=...)', the one-line form 'rnn:op~input|...', or a name (\(RecurrentGenotype.byName.keys.sorted().joined(separator: ", ")))",
                                column: 1, token: String(t.prefix(20)))
        }
    }

    // Published recurrent cells (DARTS genotypes.py; the NSAS cell from the paper's Figure 5).
    public static let dartsV1 = try! RecurrentGenotype(parsing: "Genotype(recurrent=[('relu', 0), ('relu', 1), ('tanh', 2), ('relu', 3), ('relu', 4), ('identity', 1), ('relu', 5), ('relu', 1)], concat=range(1, 9))")
    public static let dartsV2 = try! RecurrentGenotype(parsing: "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
    public static let nsas = try! RecurrentGenotype(parsing: "Genotype(recurrent=[('sigmoid', 0), ('sigmoid', 0), ('tanh', 2), ('tanh', 2), ('sigmoid', 3), ('relu', 4), ('tanh', 3), ('relu', 5)], concat=[1, 2, 3, 4, 5, 6, 7, 8])")
    public static let byName: [String: RecurrentGenotype] = ["DARTS_V1": dartsV1, "DARTS_V2": dartsV2, "DARTS": dartsV2, "NSAS": nsas]


    /// Uniform sampling as RandomNAS does for the RNN space: each node one earlier state and one
    /// op (`none` excluded unless allowed).
    public static func sample(nodes: Int = 8, allowNone: Bool = false, _ rng: inout some RandomNumberGenerator) -> RecurrentGenotype {
        let ops = allowNone ? DARTSRNNSpace.ops : DARTSRNNSpace.ops.filter { $0 != .none }
        let edges = (0..<nodes).map { k in RecurrentEdge(ops[Int.random(in: 0..<ops.count, using: &rng)], Int.random(in: 0...k, using: &rng)) }
        return try! RecurrentGenotype(recurrent: edges)
    }
}

/// A genotype of any space, for tools that take them all (drawing, ranking files).
public enum AnyGenotype: Hashable, Sendable, CustomStringConvertible {
    case cnn(Genotype)
    case rnn(RecurrentGenotype)
    case nb201(NB201Arch)

    /// Recurrent text (`recurrent=`, `rnn:`) parses as RNN, NAS-Bench-201 strings (`|op~0|+...`) as
    /// NB201; names pick the CNN cell unless `preferRecurrent` (DARTS_V2 and NSAS exist in both spaces).
    public init(parsing text: String, preferRecurrent: Bool = false) throws {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")).hasPrefix("|") {
            self = .nb201(try NB201Arch(parsing: t))
        } else if t.hasPrefix("rnn:") || t.contains("recurrent") || (preferRecurrent && RecurrentGenotype.byName[t] != nil) {
            self = .rnn(try RecurrentGenotype(parsing: t))
        } else {
            self = .cnn(try Genotype(parsing: t))
        }
    }

    public var description: String {
        switch self { case .cnn(let g): return g.description; case .rnn(let g): return g.description; case .nb201(let a): return a.description }
    }
    public var canonical: String {
        switch self { case .cnn(let g): return g.canonical; case .rnn(let g): return g.canonical; case .nb201(let a): return a.canonical }
    }
    public var hasNone: Bool {
        switch self {
        case .cnn(let g): return (g.normal + g.reduce).contains { $0.op == .none }
        case .rnn(let g): return g.recurrent.contains { $0.op == .none }
        case .nb201(let a): return a.ops.contains(.none)
        }
    }
}

extension RecurrentGenotype: Architecture {
    /// 1 - matching nodes / nodes; a node matches with the same predecessor and op.
    public func distance(to other: RecurrentGenotype) -> Double {
        1 - Double(zip(recurrent, other.recurrent).filter { $0 == $1 }.count) / Double(max(recurrent.count, 1))
    }
}
