import NSASBench
import Testing

@Suite struct TimingTests {
    @Test func runsAtLeastMinReps() {
        var calls = 0
        let t = Timing.median(minReps: 4, maxReps: 4, budget: 10) { calls += 1 }
        #expect(calls == 5)      // one warm-up plus four timed runs
        #expect(t >= 0)
    }
}
