import Foundation
import NSASTensor
import Testing

@Suite struct RNGTests {
    @Test func stateRoundTrips() throws {
        var a = RNG(seed: 42)
        for _ in 0..<10 { _ = a.next() }
        let saved = a.state
        let expected = (0..<5).map { _ in a.next() }
        var b = try RNG(state: saved)
        #expect((0..<5).map { _ in b.next() } == expected)
        let json = try JSONEncoder().encode(b)
        var c = try JSONDecoder().decode(RNG.self, from: json)
        #expect(c.next() == b.next())
        #expect(throws: TensorError.self) { try RNG(state: [0, 0, 0, 0]) }
        #expect(throws: TensorError.self) { try RNG(state: [1, 2]) }
    }

    @Test func seedsDiffer() {
        var a = RNG(seed: 1), b = RNG(seed: 2)
        #expect(a.next() != b.next())
    }

    @Test func distributions() {
        var r = RNG(seed: 7)
        let u = (0..<50_000).map { _ in r.uniform() }
        #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(u.reduce(0, +) / 50_000 - 0.5) < 0.01)
        let n = (0..<50_000).map { _ in Double(r.normal()) }
        let mean = n.reduce(0, +) / 50_000
        let variance = n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 50_000
        #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03)
        let g = (0..<50_000).map { _ in Double(r.gumbel()) }
        #expect(g.allSatisfy { $0.isFinite })
        #expect(abs(g.reduce(0, +) / 50_000 - 0.5772) < 0.02)   // Euler-Mascheroni
        let ints = (0..<10_000).map { _ in r.int(below: 7) }
        #expect(Set(ints) == Set(0..<7))
        var deck = Array(0..<20), deck2 = deck
        var r1 = RNG(seed: 3), r2 = RNG(seed: 3)
        r1.shuffle(&deck); r2.shuffle(&deck2)
        #expect(deck == deck2 && deck.sorted() == Array(0..<20) && deck != Array(0..<20))
    }
}
