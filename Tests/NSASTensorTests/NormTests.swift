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

    /// Normalising a convolution's output in place (the search network's BN after every conv):
    /// the same output, running statistics and gradients of the input, the weights and (through
    /// the ReLU fused into the convolution) x as the normalisation into a new buffer.
    @Test(arguments: BackendKind.allCases)
    func inPlaceMatchesACopy(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([4, 3, 6, 6], seed: 11, lo: -2, hi: 2), w = randomTensor([5, 3, 3, 3], seed: 12)
            var results: [[[Float]]] = [], stats: [[Float]] = []
            for inPlace in [false, true] {
                let st = BatchNormStats(channels: 5)
                var y: Tensor? = nil
                let grads = try tapeGradients([x, w]) {
                    let out = try x.conv2d(w, padding: 1, reluInput: true).batchNorm(st, training: true, overwritingInput: inPlace)
                    y = out
                    return out
                }
                results.append([y!.array] + grads)
                stats.append(st.runningMean.array + st.runningVar.array)
            }
            assertClose(results[1][0], results[0][0], atol: 1e-5, "output")
            assertClose(results[1][1], results[0][1], rtol: 1e-4, atol: 1e-4, "input gradient")
            assertClose(results[1][2], results[0][2], rtol: 1e-4, atol: 1e-4, "weight gradient")
            assertClose(stats[1], stats[0], atol: 1e-6, "running statistics")
            // and against central differences
            try checkGradients([x, w], eps: 1e-2, rtol: 3e-2, atol: 3e-3, "in place") {
                try x.conv2d(w, padding: 1).batchNorm(BatchNormStats(channels: 5), training: true, overwritingInput: true)
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
