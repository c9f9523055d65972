import NSASSearchSpace
import NSASTensor
import Testing

@Suite struct LayersTests {
    @Test func bnRecalibrationIsTheCumulativeAverage() throws {
        let bn = BatchNorm(2, affine: true)
        var rng = RNG(seed: 3)
        let batches = try (0..<3).map { k in
            try Tensor((0..<(4 * 2 * 3 * 3)).map { _ in Float.random(in: -1...1, using: &rng) * Float(k + 1) + Float(k) }, shape: [4, 2, 3, 3])
        }
        // Stale statistics from training are replaced, not blended.
        bn.stats.runningMean.ptr[0] = 100; bn.stats.runningVar.ptr[1] = 50
        let ctx = ForwardContext(training: true, recalibration: BNRecalibration())
        for x in batches { _ = try withNoGrad { try bn(x, ctx) } }
        #expect(bn.stats.momentum == 0.1)                       // restored after every call
        #expect(ctx.recalibration!.layers == 1)
        for c in 0..<2 {
            var means: [Double] = [], vars: [Double] = []
            for x in batches {
                let a = x.array
                let v = (0..<4).flatMap { n in (0..<9).map { Double(a[(n * 2 + c) * 9 + $0]) } }
                let m = v.reduce(0, +) / Double(v.count)
                means.append(m); vars.append(v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1))
            }
            #expect(abs(Double(bn.stats.runningMean.ptr[c]) - means.reduce(0, +) / 3) < 1e-5)
            #expect(abs(Double(bn.stats.runningVar.ptr[c]) - vars.reduce(0, +) / 3) < 1e-4)
        }
        // A new session starts over: one batch gives exactly that batch's statistics.
        let ctx2 = ForwardContext(training: true, recalibration: BNRecalibration())
        _ = try withNoGrad { try bn(batches[0], ctx2) }
        let a = batches[0].array
        let v0 = (0..<4).flatMap { n in (0..<9).map { Double(a[(n * 2) * 9 + $0]) } }
        #expect(abs(Double(bn.stats.runningMean.ptr[0]) - v0.reduce(0, +) / 36) < 1e-5)
    }
}
