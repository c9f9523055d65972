import NSASBench
import Testing

@Suite struct TimingTests {
    @Test func runsAtLeastMinReps() {
        var calls = 0
        // No budget: the warm-up is a single call, then exactly minReps timed runs.
        let t = Timing.median(minReps: 4, maxReps: 4, budget: 0) { calls += 1 }
        #expect(calls == 5)
        #expect(t >= 0)
    }

    @Test func warmUpRunsForATenthOfTheBudget() {
        var calls = 0
        let start = Timing.now()
        _ = Timing.median(minReps: 1, maxReps: 1, budget: 0.05) { calls += 1 }
        // At least 5 ms of warm-up calls before the single timed one.
        #expect(Timing.now() - start >= 0.005)
        #expect(calls > 2)
    }
}
