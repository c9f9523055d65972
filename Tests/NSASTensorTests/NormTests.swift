import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct NormTests {
    @Test(arguments: BackendKind.allCases)
    func trainingGradients(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([3, 4, 3, 3], seed: 1, lo: -2, hi: 2)
            let g = randomTensor([4], seed: 2, lo: 0.5, hi: 1.5), b = randomTensor([4], seed: 3)
            try checkGradients([x, g, b], eps: 1e-2, rtol: 3e-2, atol: 3e-3, "affine") {
                try x.batchNorm(BatchNormStats(channels: 4), gamma: g, beta: b, training: true)
            }
            try checkGradients([x], eps: 1e-2, rtol: 3e-2, atol: 3e-3, "plain") {
                try x.batchNorm(BatchNormStats(channels: 4), training: true)
            }
            let x2 = randomTensor([6, 4], seed: 4)
            try checkGradients([x2], eps: 1e-2, rtol: 3e-2, atol: 3e-3, "2-D") {
                try x2.batchNorm(BatchNormStats(channels: 4), training: true)
            }
        }
    }

    @Test(arguments: BackendKind.allCases)
    func evalUsesRunningStatistics(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let stats = BatchNormStats(channels: 2, momentum: 0.5)
            // Channel 0: 1,3 (mean 2, var 1, unbiased 2); channel 1: 0,0.
            let x = try Tensor([1, 0, 3, 0], shape: [2, 2])
            let y = try x.batchNorm(stats, training: true)
            assertClose(y.array, [-1, 0, 1, 0], atol: 1e-4)
            assertClose(stats.runningMean.array, [1, 0])
            assertClose(stats.runningVar.array, [1.5, 0.5])
            let g = randomTensor([2], seed: 5), b = randomTensor([2], seed: 6)
            let e = try x.batchNorm(stats, training: false)
            assertClose(e.array, [0, 0, 2 / Float(1.5 + 1e-5).squareRoot(), 0], atol: 1e-5)
            let xr = randomTensor([2, 2], seed: 7)
            try checkGradients([xr, g, b], "eval") { try xr.batchNorm(stats, gamma: g, beta: b, training: false) }
            #expect(throws: TensorError.self) { try x.batchNorm(BatchNormStats(channels: 3), training: true) }
            #expect(throws: TensorError.self) { try Tensor(zeros: [1, 2]).batchNorm(stats, training: true) }
        }
    }
}
