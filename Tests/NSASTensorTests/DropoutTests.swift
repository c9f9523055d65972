import NSASTensor
import NSASTestSupport
import Testing

@Suite struct DropoutTests {
    @Test func dropsAboutPAndKeepsTheMean() throws {
        var rng = RNG(seed: 1)
        let x = try Tensor([Float](repeating: 1, count: 100_000), shape: [100_000])
        let y = try x.dropout(p: 0.3, training: true, rng: &rng).array
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 100_000 - 0.3) < 0.01)
        #expect(abs(y.reduce(0, +) / 100_000 - 1) < 0.02)
        #expect(try x.dropout(p: 0.3, training: false, rng: &rng) === x)
        #expect(throws: TensorError.self) { try x.dropout(p: 1, training: true, rng: &rng) }
    }

    @Test func sharedMaskAcrossTimeSteps() throws {
        // Variational dropout: the same mask multiplies every time step.
        var rng = RNG(seed: 2)
        let mask = try Tensor.dropoutMask(shape: [4, 8], p: 0.5, rng: &rng)
        let steps = (0..<3).map { randomTensor([4, 8], seed: UInt64(10 + $0)) }
        let dropped = try steps.map { try $0 * mask }
        for (s, d) in zip(steps, dropped) {
            for i in 0..<32 { #expect((d.array[i] == 0) == (mask.array[i] == 0)); _ = s }
        }
        try checkGradients([steps[0]], "masked") { try steps[0] * mask }
    }
}
