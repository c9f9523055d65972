import NSASSearchSpace
import NSASTensor
import Testing

@Suite struct RecurrentGenotypeTests {
    @Test func dartsTextRoundTrips() throws {
        let text = "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))"
        let g = try RecurrentGenotype(parsing: text)
        #expect(g == RecurrentGenotype.dartsV2)
        #expect(g.description == text)
        #expect(g.canonical == "rnn:sigmoid~0|relu~1|relu~1|identity~1|tanh~2|sigmoid~5|tanh~3|relu~5")
        #expect(try RecurrentGenotype(parsing: g.canonical) == g)
        // The published NSAS cell writes its concat as a list.
        let nsas = try RecurrentGenotype(parsing: "Genotype(recurrent=[('sigmoid', 0), ('sigmoid', 0), ('tanh', 2), ('tanh', 2), ('sigmoid', 3), ('relu', 4), ('tanh', 3), ('relu', 5)], concat=[1, 2, 3, 4, 5, 6, 7, 8])")
        #expect(nsas == RecurrentGenotype.nsas && nsas.concat == Array(1...8))
        #expect(try RecurrentGenotype(parsing: "NSAS") == nsas)
        let partial = try RecurrentGenotype(recurrent: g.recurrent, concat: [2, 4])
        #expect(try RecurrentGenotype(parsing: partial.canonical) == partial && partial.description.hasSuffix("concat=[2, 4])"))
        #expect(try RecurrentGenotype(parsing: partial.description) == partial)
    }

    @Test func badTextPointsAtTheToken() {
        do { _ = try RecurrentGenotype(parsing: "Genotype(recurrent=[('sigmoid', 0), ('softplus', 1)], concat=range(1, 3))"); Issue.record("no error") } catch {
            #expect("\(error)".contains("softplus") && "\(error)".contains("column 37"))
        }
        do { _ = try RecurrentGenotype(parsing: "rnn:tanh~0|relu~3"); Issue.record("no error") } catch {
            #expect("\(error)".contains("node 2 reads state 3"))
        }
        do { _ = try RecurrentGenotype(parsing: "Genotype(normal=[('tanh', 0)])"); Issue.record("no error") } catch {
            #expect("\(error)".contains("normal"))
        }
        #expect(throws: GenotypeError.self) { try RecurrentGenotype(parsing: "rnn:tanh~0;3") }
    }

    @Test func eitherSpace() throws {
        #expect(try AnyGenotype(parsing: "DARTS_V2") == .cnn(NamedGenotypes.dartsV2))
        #expect(try AnyGenotype(parsing: "DARTS_V2", preferRecurrent: true) == .rnn(RecurrentGenotype.dartsV2))
        #expect(try AnyGenotype(parsing: RecurrentGenotype.dartsV1.canonical) == .rnn(RecurrentGenotype.dartsV1))
        #expect(try AnyGenotype(parsing: RecurrentGenotype.dartsV1.description) == .rnn(RecurrentGenotype.dartsV1))
    }

    @Test func samplingIsUniformAndValid() throws {
        var rng = RNG(seed: 5)
        let gs = (0..<400).map { _ in RecurrentGenotype.sample(&rng) }
        for g in gs { try g.validate(); #expect(g.nodes == 8 && !g.recurrent.contains { $0.op == .none }) }
        // Node 8 reads each of its 8 states about equally often; node 1 always state 0.
        #expect(gs.allSatisfy { $0.recurrent[0].input == 0 })
        let counts = (0..<8).map { j in gs.filter { $0.recurrent[7].input == j }.count }
        #expect(counts.allSatisfy { $0 > 25 && $0 < 80 })
        var rng2 = RNG(seed: 5)
        #expect(RecurrentGenotype.sample(&rng2) == gs[0])
        var rng3 = RNG(seed: 6)
        #expect((0..<200).contains { _ in RecurrentGenotype.sample(allowNone: true, &rng3).recurrent.contains { $0.op == .none } })
    }
}
