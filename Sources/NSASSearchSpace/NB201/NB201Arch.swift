import Foundation
import NSASTensor

/// The five ops of a NAS-Bench-201 edge, in the benchmark's order (its `NAS_BENCH_201` list).
public enum NB201Op: String, CaseIterable, Codable, Sendable {
    case none = "none"
    case skipConnect = "skip_connect"
    case conv1x1 = "nor_conv_1x1"
    case conv3x3 = "nor_conv_3x3"
    case avgPool3x3 = "avg_pool_3x3"

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A NAS-Bench-201 cell: 4 nodes, node j = sum over i < j of op_ij(node i), 6 edges in the
/// benchmark's order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2). Printed and parsed in the benchmark's
/// own string form, `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|`, which is also
/// the canonical key a ranking joins the benchmark's table on.
public struct NB201Arch: Architecture {
    public static let nodes = 4
    /// (to, from) of every edge, in order.
    public static let edges: [(to: Int, from: Int)] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
    /// How many architectures the space has (5^6).
    public static let count = 15_625

    public var ops: [NB201Op]

    public init(ops: [NB201Op]) throws {
        guard ops.count == 6 else { throw GenotypeError("a NAS-Bench-201 cell has 6 edges, got \(ops.count)") }
        self.ops = ops
    }

    /// The architecture with index `index` (0..<15,625): edge k's op is base-5 digit k, most
    /// significant first, in the op order above (so 0 is all `none`).
    public init(index: Int) throws {
        guard (0..<Self.count).contains(index) else { throw GenotypeError("NAS-Bench-201 architecture index \(index) is not in 0..<\(Self.count)") }
        var ops: [NB201Op] = [], rest = index, scale = Self.count / 5
        for _ in 0..<6 { ops.append(NB201Op.allCases[rest / scale]); rest %= scale; scale /= 5 }
        self.ops = ops
    }

    public var index: Int { ops.reduce(0) { $0 * 5 + NB201Op.allCases.firstIndex(of: $1)! } }

    public var description: String { canonical }

    public var canonical: String {
        var nodes: [String] = []
        for to in 1..<Self.nodes {
            let items = Self.edges.enumerated().filter { $0.element.to == to }.map { "\(ops[$0.offset].rawValue)~\($0.element.from)" }
            nodes.append("|" + items.joined(separator: "|") + "|")
        }
        return nodes.joined(separator: "+")
    }

    /// Parses the benchmark's string form (surrounding whitespace and quotes allowed).
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let s = trimmed.count >= 2 && (trimmed.hasPrefix("'") && trimmed.hasSuffix("'") || trimmed.hasPrefix("\"") && trimmed.hasSuffix("\""))
            ? String(trimmed.dropFirst().dropLast()) : trimmed
        let shown = s.count > 80 ? String(s.prefix(80)) + "..." : s
        func bad(_ why: String) -> GenotypeError {
            GenotypeError("bad NAS-Bench-201 architecture '\(shown)': \(why); expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| with ops \(NB201Op.names)")
        }
        guard s.count <= 400 else { throw bad("too long") }
        let nodes = s.split(separator: "+", omittingEmptySubsequences: false)
        guard nodes.count == Self.nodes - 1 else { throw bad("\(nodes.count) nodes, a cell has 3 after its input") }
        var ops: [NB201Op] = []
        for (k, node) in nodes.enumerated() {
            guard node.hasPrefix("|"), node.hasSuffix("|"), node.count >= 2 else { throw bad("node \(k + 1) is not enclosed in |...|") }
            let items = node.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false)
            guard items.count == k + 1 else { throw bad("node \(k + 1) has \(items.count) inputs, it needs \(k + 1)") }
            for (from, item) in items.enumerated() {
                let parts = item.split(separator: "~", omittingEmptySubsequences: false)
                guard parts.count == 2, let op = NB201Op(rawValue: String(parts[0])) else { throw bad("'\(item.prefix(40))' is no op~input") }
                guard Int(parts[1]) == from else { throw bad("node \(k + 1)'s input \(from) is written ~\(parts[1])") }
                ops.append(op)
            }
        }
        self.ops = ops
    }

    /// 1 - matching edges / 6 (the NSAS archive's novelty distance).
    public func distance(to other: NB201Arch) -> Double {
        1 - Double(zip(ops, other.ops).filter { $0 == $1 }.count) / 6
    }

    /// A uniformly drawn cell (every op, `none` too, unless `allowNone` is false).
    public static func sample(allowNone: Bool, _ rng: inout RNG) -> NB201Arch {
        let choices = allowNone ? NB201Op.allCases : NB201Op.allCases.filter { $0 != .none }
        return NB201Arch(uncheckedOps: (0..<6).map { _ in choices[rng.int(below: choices.count)] })
    }

    init(uncheckedOps: [NB201Op]) { ops = uncheckedOps }

    enum CodingKeys: String, CodingKey { case ops }

    /// Decoded architectures (checkpoints, archives: `{"ops": [...]}`) are checked like parsed ones.
    public init(from decoder: Decoder) throws {
        let ops = try decoder.container(keyedBy: CodingKeys.self).decode([NB201Op].self, forKey: .ops)
        do { try self.init(ops: ops) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)")) }
    }

    public func encode(to encoder: Encoder) throws { var c = encoder.container(keyedBy: CodingKeys.self); try c.encode(ops, forKey: .ops) }
}
