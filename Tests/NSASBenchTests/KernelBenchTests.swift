import NSASBackends
import NSASBench
import Testing

/// The benchmark's bookkeeping (not its timings: timing never goes into a test).
@Suite struct KernelBenchTests {
    @Test func runsEveryKernelFamilyOnEveryBackend() {
        let bench = KernelBench(batch: 2, channels: 2, backends: [ReferenceBackend.shared, BLASBackend.shared], budget: 0.001)
        let figures = bench.run(sgemm: 100)
        for backend in ["reference", "blas"] {
            let mine = figures.filter { $0.backend == backend }
            for family in ["gemm", "conv1x1 forward", "conv1x1 all", "depthwise forward", "max pool", "average pool", "batchnorm backward"] {
                #expect(mine.contains { $0.kernel.hasPrefix(family) }, "\(backend) lacks \(family)")
            }
            #expect(mine.allSatisfy { $0.value > 0 && $0.value.isFinite && $0.peer > 0 })
        }
        let targets = KernelBench.targets(sgemm: 160, figures: figures)
        #expect(targets.map(\.name).contains("sgemm 1024^3 GFLOP/s"))
        #expect(targets.first!.met)
        #expect(targets.count == 5)
    }

    @Test func medianIsTheMiddle() {
        #expect(Timing.medianOf([3, 1, 2]) == 2)
        #expect(Timing.medianOf([4, 1, 2, 3]) == 2.5)
    }
}
