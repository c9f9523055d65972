import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct ConvTests {
    @Test(arguments: BackendKind.allCases)
    func gradientsOfEveryConvKind(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([2, 4, 7, 7], seed: 1)
            let dense = randomTensor([3, 4, 3, 3], seed: 2), pw = randomTensor([5, 4, 1, 1], seed: 3)
            let dw3 = randomTensor([4, 1, 3, 3], seed: 4), dw5 = randomTensor([4, 1, 5, 5], seed: 5)
            let grouped = randomTensor([6, 2, 3, 3], seed: 6)
            try checkGradients([x, dense], "dense s2") { try x.conv2d(dense, stride: 2, padding: 1) }
            try checkGradients([x, pw], "1x1") { try x.conv2d(pw) }
            try checkGradients([x, pw], "1x1 s2") { try x.conv2d(pw, stride: 2) }
            try checkGradients([x, dw3], "depthwise 3x3 dil 2") { try x.conv2d(dw3, padding: 2, dilation: 2, groups: 4) }
            try checkGradients([x, dw5], "depthwise 5x5 s2") { try x.conv2d(dw5, stride: 2, padding: 2, groups: 4) }
            try checkGradients([x, grouped], "groups 2") { try x.conv2d(grouped, padding: 1, groups: 2) }
            // x's gradient written by the first convolution's backward, added to by the others
            try checkGradients([x, pw, dw3], "reused input") {
                try x.conv2d(pw) + x.conv2d(dw3, padding: 2, dilation: 2, groups: 4).conv2d(pw) + x.conv2d(pw, stride: 1)
            }
        }
    }

    @Test(arguments: BackendKind.allCases)
    func fusedReLUEqualsReLUThenConv(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([2, 4, 6, 6], seed: 9)
            for (w, groups, pad) in [(randomTensor([4, 1, 3, 3], seed: 10), 4, 1), (randomTensor([5, 4, 1, 1], seed: 11), 1, 0),
                                     (randomTensor([3, 4, 3, 3], seed: 12), 1, 1)] {
                let fused = try tapeGradients([x, w]) { try x.conv2d(w, padding: pad, groups: groups, reluInput: true) }
                let plain = try tapeGradients([x, w]) { try x.relu().conv2d(w, padding: pad, groups: groups) }
                assertClose(fused[0], plain[0], atol: 1e-5, "dx")
                assertClose(fused[1], plain[1], atol: 1e-5, "dw")
                let a = try x.conv2d(w, padding: pad, groups: groups, reluInput: true), b = try x.relu().conv2d(w, padding: pad, groups: groups)
                assertClose(a.array, b.array, atol: 1e-5, "forward")
            }
        }
    }

    @Test func badShapesAreErrors() {
        let x = Tensor(zeros: [1, 4, 8, 8])
        #expect(throws: TensorError.self) { try x.conv2d(Tensor(zeros: [3, 3, 3, 3])) }
        #expect(throws: TensorError.self) { try x.conv2d(Tensor(zeros: [4, 1, 3, 3]), groups: 3) }
        #expect(throws: TensorError.self) { try x.conv2d(Tensor(zeros: [4, 4, 9, 9])) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [4, 8, 8]).conv2d(Tensor(zeros: [4, 4, 1, 1])) }
    }

    @Test func inputWithoutGradientIsNotDifferentiated() throws {
        let x = randomTensor([1, 2, 5, 5], seed: 7, requiresGrad: false), w = randomTensor([2, 2, 3, 3], seed: 8)
        try x.conv2d(w, padding: 1).sum().backward()
        #expect(x.grad == nil && w.grad != nil)
    }

    @Test func multiplyAddsAreCounted() throws {
        let x = randomTensor([2, 3, 8, 8], seed: 1, requiresGrad: false), w = randomTensor([4, 3, 3, 3], seed: 2)
        let dw = randomTensor([3, 1, 3, 3], seed: 3)
        let a = randomTensor([2, 5], seed: 4, requiresGrad: false), l = randomTensor([7, 5], seed: 5)
        let n = try countingMultiplyAdds {
            _ = try x.conv2d(w, padding: 1)                         // 2*4*8*8 outputs, 3*3*3 each
            _ = try x.conv2d(dw, stride: 2, padding: 1, groups: 3)  // 2*3*4*4 outputs, 3*3 each
            _ = try a.linear(l)                                    // 2*7 outputs, 5 each
            _ = try a.matmul(randomTensor([5, 7], seed: 6))
        }
        #expect(n == 2 * 4 * 64 * 27 + 2 * 3 * 16 * 9 + 70 + 70)
        // Nothing counted outside the scope.
        #expect(countingMultiplyAdds {} == 0)
    }

    @Test(arguments: BackendKind.allCases)
    func convBatchNormEvalIsConvThenBN(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([2, 16, 6, 8], seed: 31, requiresGrad: false)
            for (w, groups) in [(randomTensor([32, 16, 1, 1], seed: 32), 1), (randomTensor([16, 1, 3, 3], seed: 33), 16)] {
                let stats = BatchNormStats(channels: w.shape[0])
                for c in 0..<w.shape[0] { stats.runningMean.ptr[c] = Float(c) * 0.1 - 1; stats.runningVar.ptr[c] = 0.5 + Float(c) * 0.05 }
                let gamma = randomTensor([w.shape[0]], seed: 34), beta = randomTensor([w.shape[0]], seed: 35)
                for affine in [false, true] {
                    let pad = w.shape[2] / 2
                    let fused = try withNoGrad {
                        try x.conv2dBatchNormEval(w, padding: pad, groups: groups, reluInput: true, stats: stats,
                                                  gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                    }
                    let twoOps = try withNoGrad {
                        try x.conv2d(w, padding: pad, groups: groups, reluInput: true).batchNorm(stats, gamma: affine ? gamma : nil, beta: affine ? beta : nil, training: false)
                    }
                    assertClose(fused.array, twoOps.array, rtol: 1e-5, atol: 1e-5)
                    // With a tape it is the two ops, so gradients flow.
                    let y = try x.conv2dBatchNormEval(w, padding: pad, groups: groups, stats: stats, gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                    try y.sum().backward()
                    #expect(w.grad != nil)
                    w.zeroGrad(); gamma.zeroGrad(); beta.zeroGrad()
                }
                #expect(throws: TensorError.self) { try withNoGrad { try x.conv2dBatchNormEval(w, groups: groups, stats: BatchNormStats(channels: 3)) } }
            }
        }
    }
}
