import NSASTensor

/// Uniform architecture sampling as RandomNAS does (Li & Talwalkar 2019): for each node of each
/// cell, two distinct inputs among the earlier states and one op for each, from a seeded RNG.
public struct ArchitectureSampler: Sendable {
    public var nodes: Int
    /// Whether `none` may be drawn (excluded by default, as in RandomNAS).
    public var allowNone: Bool

    public init(nodes: Int = 4, allowNone: Bool = false) { self.nodes = nodes; self.allowNone = allowNone }

    public var ops: [Primitive] { allowNone ? DARTSCNNSpace.ops : DARTSCNNSpace.ops.filter { $0 != .none } }

    func cell(_ rng: inout RNG) -> [Edge] {
        let ops = self.ops
        var edges: [Edge] = []
        for i in 0..<nodes {
            let a = rng.int(below: 2 + i)
            var b = rng.int(below: 1 + i)      // distinct from a
            if b >= a { b += 1 }
            edges.append(Edge(ops[rng.int(below: ops.count)], a))
            edges.append(Edge(ops[rng.int(below: ops.count)], b))
        }
        return edges
    }

    /// One architecture: normal and reduce cells drawn independently.
    public func sample(_ rng: inout RNG) -> Genotype {
        let normal = cell(&rng), reduce = cell(&rng)
        return try! Genotype(normal: normal, reduce: reduce)   // valid by construction
    }
}
