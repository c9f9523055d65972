import NSASSearchSpace
import PropertyBased
import Testing

/// Property tests: every valid genotype prints (in the DARTS text form and the one-line form)
/// to text that parses back to the same genotype, in both spaces.
@Suite struct GenotypePropertyTests {
    /// A valid cell from raw draws: `nodes` nodes, two edges each reading an earlier state, and a
    /// concat list that is a non-empty subset of the nodes in draw order.
    static func cell(nodes: Int, _ draws: [Int]) -> (edges: [Edge], concat: [Int]) {
        var i = 0
        func draw(_ n: Int) -> Int { defer { i += 1 }; return draws.isEmpty ? 0 : draws[i % draws.count] % n }
        let edges = (0..<(2 * nodes)).map { k in Edge(Primitive.allCases[draw(Primitive.allCases.count)], draw(2 + k / 2)) }
        var concat: [Int] = []
        for node in 2..<(2 + nodes) where draw(3) > 0 { concat.insert(node, at: draw(concat.count + 1)) }
        return (edges, concat.isEmpty ? [2 + draw(nodes)] : concat)
    }

    @Test func cnnGenotypesRoundTrip() async throws {
        await propertyCheck(count: 300, input: Gen.int(in: 1...12), Gen.int(in: 0...1000).array(of: 1...200)) { nodes, draws in
            let n = Self.cell(nodes: nodes, draws), r = Self.cell(nodes: nodes, Array(draws.reversed()))
            let g = try Genotype(normal: n.edges, normalConcat: n.concat, reduce: r.edges, reduceConcat: r.concat)
            #expect(try Genotype(parsing: g.description) == g)
            #expect(try Genotype(parsing: g.canonical) == g)
            #expect(try Genotype(parsing: g.canonical).canonical == g.canonical)
        }
    }

    @Test func rnnGenotypesRoundTrip() async throws {
        await propertyCheck(count: 300, input: Gen.int(in: 1...16), Gen.int(in: 0...1000).array(of: 1...100)) { nodes, draws in
            var i = 0
            func draw(_ n: Int) -> Int { defer { i += 1 }; return draws[i % draws.count] % n }
            let ops = RecurrentPrimitive.allCases
            let edges = (0..<nodes).map { k in RecurrentEdge(ops[draw(ops.count)], draw(k + 1)) }
            var concat = Array(1...nodes).filter { _ in draw(3) > 0 }
            if concat.isEmpty { concat = [1 + draw(nodes)] }
            let g = try RecurrentGenotype(recurrent: edges, concat: concat)
            #expect(try RecurrentGenotype(parsing: g.description) == g)
            #expect(try RecurrentGenotype(parsing: g.canonical) == g)
        }
    }
}
