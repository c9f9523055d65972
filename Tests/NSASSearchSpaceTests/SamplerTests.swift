import NSASSearchSpace
import NSASTensor
import Testing

@Suite struct SamplerTests {
    @Test func samplesAreValidSeededAndVaried() {
        var a = RNG(seed: 3), b = RNG(seed: 3)
        let s = ArchitectureSampler()
        var seen = Set<Genotype>()
        for _ in 0..<200 {
            let g = s.sample(&a)
            #expect(g == s.sample(&b))
            #expect((try? g.validate()) != nil)
            for cell in [g.normal, g.reduce] {
                #expect(!cell.contains { $0.op == .none })
                for node in 0..<4 { #expect(cell[2 * node].input != cell[2 * node + 1].input) }
            }
            seen.insert(g)
        }
        #expect(seen.count == 200)
    }

    @Test func noneOnlyWhenAllowed() {
        var r = RNG(seed: 1)
        let s = ArchitectureSampler(allowNone: true)
        let ops = (0..<100).flatMap { _ in s.sample(&r).normal.map(\.op) }
        #expect(Set(ops) == Set(Primitive.allCases))
    }
}
