/// An error in genotype text, pointing at the offending token.
public struct GenotypeError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// 1-based column of the token in the text, when known.
    public var column: Int?
    public var token: String?

    public init(_ message: String, column: Int? = nil, token: String? = nil) {
        self.message = message; self.column = column; self.token = token
    }
    public var description: String {
        var s = "bad genotype"
        if let column { s += " at column \(column)" }
        if let token { s += " ('\(token)')" }
        return s + ": " + message
    }
}

/// One edge of a cell: the op and the state it reads (0 = c_{k-2}, 1 = c_{k-1}, 2... = nodes).
public struct Edge: Hashable, Codable, Sendable {
    public var op: Primitive
    public var input: Int
    public init(_ op: Primitive, _ input: Int) { self.op = op; self.input = input }
}

/// A DARTS CNN genotype: for each cell type, two edges per intermediate node (edges 2i and
/// 2i+1 feed node i) and the nodes concatenated into the cell's output.
///
/// ```swift
/// let g = try Genotype(parsing: "Genotype(normal=[('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], ...)")
/// print(g)            // the same DARTS text
/// print(g.canonical)  // sep_conv_3x3~1|...||max_pool_3x3~0|...
/// ```
public struct Genotype: Hashable, Codable, Sendable, CustomStringConvertible {
    public var normal: [Edge]
    public var normalConcat: [Int]
    public var reduce: [Edge]
    public var reduceConcat: [Int]

    /// Builds and validates a genotype (two edges per node, inputs from earlier states, concat of nodes).
    public init(normal: [Edge], normalConcat: [Int]? = nil, reduce: [Edge], reduceConcat: [Int]? = nil) throws {
        self.normal = normal; self.reduce = reduce
        self.normalConcat = normalConcat ?? Array(2..<(2 + normal.count / 2))
        self.reduceConcat = reduceConcat ?? Array(2..<(2 + reduce.count / 2))
        try validate()
    }

    /// Number of intermediate nodes per cell.
    public var nodes: Int { normal.count / 2 }

    enum CodingKeys: String, CodingKey { case normal, normalConcat, reduce, reduceConcat }

    /// Decoded genotypes (checkpoints, archives) are validated like parsed ones.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        normal = try c.decode([Edge].self, forKey: .normal); normalConcat = try c.decode([Int].self, forKey: .normalConcat)
        reduce = try c.decode([Edge].self, forKey: .reduce); reduceConcat = try c.decode([Int].self, forKey: .reduceConcat)
        do { try validate() } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)")) }
    }

    /// The most intermediate nodes a cell may have (DARTS cells have 4).
    public static let maxNodes = 64

    public func validate() throws {
        for (name, edges, concat) in [("normal", normal, normalConcat), ("reduce", reduce, reduceConcat)] {
            guard !edges.isEmpty, edges.count % 2 == 0 else {
                throw GenotypeError("\(name) needs two edges per node, got \(edges.count) edges")
            }
            guard edges.count / 2 <= Genotype.maxNodes else {
                throw GenotypeError("\(name) has \(edges.count / 2) nodes; a cell has at most \(Genotype.maxNodes)")
            }
            for (k, e) in edges.enumerated() where e.input < 0 || e.input >= 2 + k / 2 {
                throw GenotypeError("\(name) edge \(k) (node \(k / 2)) reads state \(e.input); node \(k / 2) can read states 0..\(1 + k / 2)")
            }
            let n = edges.count / 2
            guard !concat.isEmpty, concat.allSatisfy({ $0 >= 2 && $0 < 2 + n }), Set(concat).count == concat.count else {
                throw GenotypeError("\(name)_concat \(concat) must list distinct nodes among 2..\(1 + n)")
            }
        }
        guard normal.count == reduce.count else {
            throw GenotypeError("normal has \(normal.count / 2) nodes but reduce has \(reduce.count / 2)")
        }
    }

    /// The DARTS text form, as papers print it.
    public var description: String {
        func edges(_ es: [Edge]) -> String { "[" + es.map { "('\($0.op.name)', \($0.input))" }.joined(separator: ", ") + "]" }
        func list(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ", ") + "]" }
        return "Genotype(normal=\(edges(normal)), normal_concat=\(list(normalConcat)), reduce=\(edges(reduce)), reduce_concat=\(list(reduceConcat)))"
    }

    /// A one-line form without commas, for CSV files: `op~input|...||op~input|...` (normal, then
    /// reduce; the concat lists are all nodes, and are spelled out after `;` only when they are not).
    public var canonical: String {
        func edges(_ es: [Edge]) -> String { es.map { "\($0.op.name)~\($0.input)" }.joined(separator: "|") }
        var s = edges(normal) + "||" + edges(reduce)
        let all = Array(2..<(2 + nodes))
        if normalConcat != all || reduceConcat != all {
            s += ";" + normalConcat.map(String.init).joined(separator: ".") + ";" + reduceConcat.map(String.init).joined(separator: ".")
        }
        return s
    }

    /// Parses either the DARTS text form or the canonical form.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("Genotype") {
            var parser = try GenotypeParser(trimmed)
            self = try parser.parseDARTS()
        } else if trimmed.contains("~") {
            self = try Genotype.parseCanonical(trimmed)
        } else if let named = NamedGenotypes.byName[trimmed] {
            self = named
        } else {
            throw GenotypeError("expected 'Genotype(normal=[...], ...)', the one-line form 'op~input|...||op~input|...', or a name (\(NamedGenotypes.byName.keys.sorted().joined(separator: ", ")))",
                                column: 1, token: String(trimmed.prefix(20)))
        }
    }

    static func parseCanonical(_ text: String) throws -> Genotype {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        let cells = parts[0].components(separatedBy: "||")
        guard cells.count == 2 else { throw GenotypeError("the one-line form needs normal and reduce edges separated by '||'", token: parts[0]) }
        var column = 1
        func edges(_ s: String) throws -> [Edge] {
            defer { column += s.count + 2 }
            var col = column
            return try s.split(separator: "|", omittingEmptySubsequences: false).map { item in
                defer { col += item.count + 1 }
                let pair = item.split(separator: "~", omittingEmptySubsequences: false)
                guard pair.count == 2, let input = Int(pair[1]) else {
                    throw GenotypeError("expected 'op~input'", column: col, token: String(item))
                }
                guard let op = Primitive(rawValue: String(pair[0])) else {
                    throw GenotypeError("unknown op; the ops are \(Primitive.names)", column: col, token: String(pair[0]))
                }
                return Edge(op, input)
            }
        }
        let normal = try edges(cells[0]), reduce = try edges(cells[1])
        var nc: [Int]? = nil, rc: [Int]? = nil
        if parts.count == 3 {
            func ints(_ s: String) throws -> [Int] {
                try s.split(separator: ".").map { guard let v = Int($0) else { throw GenotypeError("bad concat index", token: String($0)) }; return v }
            }
            nc = try ints(parts[1]); rc = try ints(parts[2])
        } else if parts.count != 1 {
            throw GenotypeError("expected ';normal.concat;reduce.concat' after the edges", token: text)
        }
        return try Genotype(normal: normal, normalConcat: nc, reduce: reduce, reduceConcat: rc)
    }
}

import Foundation

extension Genotype: Architecture {
    /// 1 - matches / edges over the normal and reduce cells together. An edge of `self` matches
    /// when `other` has an edge into the same node from the same input with the same op.
    public func distance(to other: Genotype) -> Double {
        func matches(_ x: [Edge], _ y: [Edge]) -> Int {
            var n = 0
            for (k, e) in x.enumerated() {
                let node = k / 2
                if 2 * node + 2 <= y.count, y[(2 * node)..<(2 * node + 2)].contains(e) { n += 1 }
            }
            return n
        }
        let edges = normal.count + reduce.count
        return 1 - Double(matches(normal, other.normal) + matches(reduce, other.reduce)) / Double(max(edges, 1))
    }
}
