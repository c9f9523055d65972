import NSASTensor
import NSASTestSupport
import Testing

@Suite struct SchedulesTests {
    @Test func cosine() {
        let s = CosineAnnealing(base: 0.025, minimum: 0.001, total: 50)
        assertClose(s.lr(epoch: 0), 0.025)
        assertClose(s.lr(epoch: 25), 0.013)
        assertClose(s.lr(epoch: 50), 0.001)
        assertClose(s.lr(epoch: 80), 0.001)
    }

    @Test func linearTemperature() {
        let t = LinearDecay(start: 10, end: 0.1, total: 100)
        assertClose(t.value(epoch: 0), 10)
        assertClose(t.value(epoch: 50), 5.05)
        assertClose(t.value(epoch: 100), 0.1)
    }
}
