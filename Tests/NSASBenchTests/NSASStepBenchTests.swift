import NSASBench
import NSASRun
import NSASSearchSpace
import Testing

@Suite struct NSASStepBenchTests {
    /// 7 steps a round, an archive of 3, a network of 3 cells of C = 4, batches of 8.
    func tinyBench() -> NSASStepBench {
        var bench = NSASStepBench()
        bench.steps = 7; bench.members = 3
        bench.adjust = { c in
            var o = DARTSCNNOptions()
            o.layers = 3; o.channels = 4
            c.network = try! JSONValue(encoding: o)
            c.batch = 8
        }
        return bench
    }

    /// A tiny network: the figures are timings (never checked), but which step pairs the means are
    /// over and how the result pools the rounds are.
    @Test func meansOverWarmFullArchiveStepPairsPooledOverRounds() throws {
        var bench = tinyBench()
        bench.rounds = 2; bench.compareUnshared = true
        let r = try bench.run()
        #expect(r.passes == 4)
        #expect(r.rounds.count == 2)
        // 2 warm-up steps dropped; in the first round the archive of 3 fills during steps 1-3, so
        // the pairs are steps 4-7 only; from the second round on it is full from the start.
        #expect(r.rounds.map(\.steps) == [4, 5])
        for round in r.rounds { #expect(abs(round.ratio - round.nsasStep / round.baseStep) < 1e-12) }
        let n = r.rounds.map { $0.nsasStep * Double($0.steps) }.reduce(0, +) / 9
        let rn = r.rounds.map { $0.baseStep * Double($0.steps) }.reduce(0, +) / 9
        #expect(abs(r.nsasStep - n) < 1e-9 && abs(r.baseStep - rn) < 1e-9)
        #expect(abs(r.ratio - n / rn) < 1e-9)
        // The third search (NSAS without shared ops) is timed over the same steps.
        let u = r.rounds.map { $0.unsharedStep! * Double($0.steps) }.reduce(0, +) / 9
        #expect(abs(r.unsharedStep! - u) < 1e-9 && abs(r.unsharedRatio! - u / rn) < 1e-9)
    }

    /// Over GDAS (2 passes a step: the architecture step and the weight step), the full GDAS-NSAS
    /// steps are those with M passes more.
    @Test func overGDASTheFullStepsAreThoseWithMPassesMore() throws {
        var bench = tinyBench()
        bench.rounds = 1; bench.gdas = true
        let r = try bench.run()
        #expect(r.rounds.map(\.steps) == [4])
        #expect(r.ratio > 0 && r.unsharedStep == nil)
    }

    @Test func tooFewStepsForAFullArchiveIsOneLine() {
        var bench = NSASStepBench()
        bench.steps = 4; bench.members = 3
        #expect(throws: RunError.self) { _ = try bench.run() }
    }
}
