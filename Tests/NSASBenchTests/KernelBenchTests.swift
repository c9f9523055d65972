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

    @Test func onlyMeasuresTheNamedFamilies() {
        let bench = KernelBench(batch: 2, channels: 2, backends: [BLASBackend.shared], budget: 0.001, only: ["pool", "batchnorm"])
        let kernels = Set(bench.run(sgemm: 100).map(\.kernel))
        #expect(kernels.contains("max pool forward") && kernels.contains("batchnorm forward"))
        #expect(!kernels.contains { $0.hasPrefix("depthwise") || $0.hasPrefix("conv1x1") || $0 == "gemm" })
    }

    @Test func aMissedComputeTargetSaysWhatRateItNeeds() {
        // A depthwise figure at 0.15 of memcpy running at 100 GFLOP/s needs 200 GFLOP/s for 0.30.
        let figures = [BenchFigure(kernel: "depthwise forward", shape: "s", backend: "blas", unit: "GB/s", value: 15,
                                   medianSeconds: 1, peer: 100, gflops: 100),
                       BenchFigure(kernel: "max pool forward", shape: "s", backend: "blas", unit: "GB/s", value: 50,
                                   medianSeconds: 1, peer: 100)]
        let targets = KernelBench.targets(sgemm: 190, figures: figures)
        let dw = targets.first { $0.name.hasPrefix("depthwise") }!
        #expect(!dw.met && abs(dw.measured - 0.15) < 1e-9)
        #expect(dw.note?.contains("needs 200 GFLOP/s") == true)
        #expect(dw.note?.contains("190") == true)
        let pool = targets.first { $0.name.hasPrefix("pool") }!
        #expect(pool.met && pool.note == nil)
    }

    @Test func aNewPeerRecomputesTheRatio() {
        let f = BenchFigure(kernel: "conv1x1 forward", shape: "s", backend: "blas", unit: "GFLOP/s", value: 100,
                            medianSeconds: 1, peer: 125)
        #expect(abs(f.ratio - 0.8) < 1e-12)
        let g = f.withPeer(200)
        #expect(abs(g.ratio - 0.5) < 1e-12 && g.value == 100 && g.kernel == f.kernel)
    }

    @Test func medianIsTheMiddle() {
        #expect(Timing.medianOf([3, 1, 2]) == 2)
        #expect(Timing.medianOf([4, 1, 2, 3]) == 2.5)
    }
}
