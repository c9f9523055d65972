import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

/// `depthwisePointwise` (the two convolutions of DARTS's SepConv and DilConv halves, image by
/// image on the fast backend) against the two convolutions one after the other.
@Suite struct DepthwisePointwiseTests {
    /// (input shape, depthwise kernel, stride, padding, dilation, pointwise outputs): planes the fast
    /// backend fuses (16-float multiples: 8x8, 4x8 at stride 2, 16x16) and ones it runs apart (7x7, 5x5).
    static let cases: [([Int], Int, Int, Int, Int, Int)] = [
        ([3, 16, 8, 8], 3, 1, 1, 1, 16), ([2, 16, 8, 16], 5, 2, 2, 1, 32), ([2, 8, 8, 8], 3, 1, 2, 2, 16),
        ([2, 16, 16, 16], 5, 1, 4, 2, 16), ([2, 4, 7, 7], 3, 1, 1, 1, 6), ([2, 4, 9, 9], 5, 2, 4, 2, 4),
    ]

    @Test(arguments: BackendKind.allCases)
    func equalsTheTwoConvolutions(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            for (i, (shape, k, stride, pad, dil, cOut)) in Self.cases.enumerated() {
                let c = shape[1], seed = UInt64(10 * i)
                let x = randomTensor(shape, seed: seed), wd = randomTensor([c, 1, k, k], seed: seed + 1)
                let wp = randomTensor([cOut, c, 1, 1], seed: seed + 2)
                let what = "\(shape) k\(k) s\(stride) d\(dil)"
                let fused = try tapeGradients([x, wd, wp]) {
                    try x.depthwisePointwise(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: true)
                }
                let apart = try tapeGradients([x, wd, wp]) {
                    try x.conv2d(wd, stride: stride, padding: pad, dilation: dil, groups: c, reluInput: true).conv2d(wp)
                }
                for (j, name) in ["dx", "d depthwise", "d pointwise"].enumerated() {
                    assertClose(fused[j], apart[j], atol: 1e-4, "\(name) \(what)")
                }
                let y = try withNoGrad { try x.depthwisePointwise(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: true) }
                let y2 = try withNoGrad { try x.conv2d(wd, stride: stride, padding: pad, dilation: dil, groups: c, reluInput: true).conv2d(wp) }
                assertClose(y.array, y2.array, atol: 1e-5, "forward without a tape \(what)")
                // evaluation-mode batch norm folded in (inference), with and without the affine part
                let stats = BatchNormStats(channels: cOut)
                for ch in 0..<cOut { stats.runningMean.ptr[ch] = Float(ch) * 0.1 - 0.5; stats.runningVar.ptr[ch] = 0.5 + Float(ch) * 0.05 }
                let gamma = randomTensor([cOut], seed: seed + 3), beta = randomTensor([cOut], seed: seed + 4)
                for affine in [false, true] {
                    let eval = try withNoGrad {
                        try x.depthwisePointwiseBatchNormEval(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: true,
                                                              stats: stats, gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                    }
                    let twoOps = try withNoGrad { try y2.batchNorm(stats, gamma: affine ? gamma : nil, beta: affine ? beta : nil, training: false) }
                    assertClose(eval.array, twoOps.array, atol: 1e-5, "eval BN \(what) affine \(affine)")
                }
            }
        }
    }

    /// The fast backend's image-by-image gradients where a chunk of images runs in several parts
    /// (5 images of 16 32x32 planes: parts of 2) and the input's gradient is added to (the input
    /// read by two of them), against the two convolutions one after the other.
    @Test func gradientsInPartsAndAddedToTheInputs() throws {
        try withBackend(BackendKind.blas.make()) {
            let x = randomTensor([5, 16, 32, 32], seed: 7)
            for (k, stride, pad, dil) in [(3, 1, 1, 1), (5, 2, 2, 1), (3, 1, 2, 2)] {
                let wd = randomTensor([16, 1, k, k], seed: 8), wp = randomTensor([32, 16, 1, 1], seed: 9)
                let wd2 = randomTensor([16, 1, k, k], seed: 10), wp2 = randomTensor([32, 16, 1, 1], seed: 11)
                let inputs = [x, wd, wp, wd2, wp2]
                let fused = try tapeGradients(inputs) {
                    try x.depthwisePointwise(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: true)
                        + x.depthwisePointwise(wd2, wp2, stride: stride, padding: pad, dilation: dil, reluInput: false)
                }
                let apart = try tapeGradients(inputs) {
                    try x.conv2d(wd, stride: stride, padding: pad, dilation: dil, groups: 16, reluInput: true).conv2d(wp)
                        + x.conv2d(wd2, stride: stride, padding: pad, dilation: dil, groups: 16).conv2d(wp2)
                }
                for (j, name) in ["dx", "d depthwise", "d pointwise", "d depthwise 2", "d pointwise 2"].enumerated() {
                    assertClose(fused[j], apart[j], atol: 1e-3, "\(name) k\(k) s\(stride) d\(dil)")
                }
            }
        }
    }

    /// `depthwisePointwiseBatchNorm` (training-mode batch norm fused in: its input gradient image by
    /// image on the fast backend) against depthwisePointwise then batchNorm in place: outputs,
    /// running statistics and gradients, the input read twice (its gradient added to), in parts
    /// (5 images of 32x32) and shapes the fast backend runs apart.
    @Test(arguments: BackendKind.allCases)
    func batchNormFusedInEqualsTheTwoOps(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let cases = [([5, 16, 32, 32], 3, 1, 1, 1), ([5, 16, 32, 32], 5, 2, 2, 1), ([3, 16, 16, 16], 3, 1, 2, 2), ([2, 4, 7, 7], 3, 1, 1, 1)]
            for (i, (shape, k, stride, pad, dil)) in cases.enumerated() {
                let c = shape[1], seed = UInt64(20 * i)
                let x = randomTensor(shape, seed: seed)
                let w = (0..<4).map { randomTensor($0 % 2 == 0 ? [c, 1, k, k] : [2 * c, c, 1, 1], seed: seed + 1 + UInt64($0)) }
                let what = "\(shape) k\(k) s\(stride) d\(dil)"
                try assertFusedTrainingMatches([x] + w, names: ["dx", "d depthwise", "d pointwise", "d depthwise 2", "d pointwise 2"],
                                               channels: 2 * c, what) { fused, stats in
                    func half(_ wd: Tensor, _ wp: Tensor, _ stats: BatchNormStats, relu: Bool) throws -> Tensor {
                        fused ? try x.depthwisePointwiseBatchNorm(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: relu, stats: stats)
                            : try x.depthwisePointwise(wd, wp, stride: stride, padding: pad, dilation: dil, reluInput: relu)
                                .batchNorm(stats, training: true, overwritingInput: true)
                    }
                    return try half(w[0], w[1], stats[0], relu: true) + half(w[2], w[3], stats[1], relu: false)
                }
            }
        }
    }

    @Test func gradientsByCentralDifferences() throws {
        let x = randomTensor([2, 4, 6, 6], seed: 1), wd = randomTensor([4, 1, 3, 3], seed: 2), wp = randomTensor([3, 4, 1, 1], seed: 3)
        try checkGradients([x, wd, wp], "depthwise 3x3 then 1x1") { try x.depthwisePointwise(wd, wp, padding: 1) }
        // one input gradient already there (reused input), only some tensors wanting gradients (no
        // ReLU here: central differences across its kink are wrong; the ReLU is checked above)
        let frozen = randomTensor([3, 4, 1, 1], seed: 4, requiresGrad: false)
        try checkGradients([x, wd], "reused input, frozen pointwise") {
            try x.depthwisePointwise(wd, frozen, stride: 2, padding: 1) + x.conv2d(frozen, stride: 2)
        }
    }

    @Test func badShapesAreOneLineErrors() {
        let x = Tensor(zeros: [1, 4, 8, 8]), wd = Tensor(zeros: [4, 1, 3, 3])
        for (w, why) in [(Tensor(zeros: [3, 5, 1, 1]), "pointwise inputs"), (Tensor(zeros: [3, 4, 3, 3]), "pointwise kernel")] {
            #expect(throws: TensorError.self, "\(why)") { try x.depthwisePointwise(wd, w, padding: 1) }
        }
        #expect(throws: TensorError.self) { try x.depthwisePointwise(Tensor(zeros: [3, 1, 3, 3]), Tensor(zeros: [3, 4, 1, 1])) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [4, 8, 8]).depthwisePointwise(wd, Tensor(zeros: [3, 4, 1, 1])) }
        let stats = BatchNormStats(channels: 2)
        #expect(throws: TensorError.self) {
            try withNoGrad { try x.depthwisePointwiseBatchNormEval(wd, Tensor(zeros: [3, 4, 1, 1]), padding: 1, stats: stats) }
        }
    }
}
