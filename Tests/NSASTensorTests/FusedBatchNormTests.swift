import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

/// Ops with training-mode batch norm without affine parameters fused in, against the op then
/// batchNorm in place: `conv2dBatchNorm` (on the fast backend the gradients of thin 1x1
/// convolutions image by image) and `poolBatchNorm` (3x3 pools' gradients a few planes at a time).
@Suite struct FusedBatchNormTests {
    /// (input shape, kernel, padding, outputs): thin 1x1 convolutions in several parts per worker
    /// (5 images of 64 32x32 planes), a stage of 16x16, and shapes the fast backend runs apart
    /// (a 3x3 stem, 7x7 planes).
    static let cases: [([Int], Int, Int, Int)] = [([5, 64, 32, 32], 1, 0, 16), ([3, 48, 16, 16], 1, 0, 32), ([2, 3, 8, 8], 3, 1, 16),
                                                  ([2, 4, 7, 7], 1, 0, 8)]

    @Test(arguments: BackendKind.allCases)
    func equalsConvolutionThenBatchNorm(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            for (i, (shape, k, pad, cOut)) in Self.cases.enumerated() {
                let seed = UInt64(30 * i)
                let x = randomTensor(shape, seed: seed)
                let w1 = randomTensor([cOut, shape[1], k, k], seed: seed + 1), w2 = randomTensor([cOut, shape[1], k, k], seed: seed + 2)
                let what = "\(shape) k\(k) -> \(cOut)"
                // the input read by two of them, its gradient added to; one with the ReLU, one without
                try assertFusedTrainingMatches([x, w1, w2], names: ["dx", "dw1", "dw2"], channels: cOut, what) { fused, stats in
                    func one(_ w: Tensor, _ stats: BatchNormStats, relu: Bool) throws -> Tensor {
                        fused ? try x.conv2dBatchNorm(w, padding: pad, reluInput: relu, stats: stats)
                            : try x.conv2d(w, padding: pad, reluInput: relu).batchNorm(stats, training: true, overwritingInput: true)
                    }
                    return try one(w1, stats[0], relu: true) + one(w2, stats[1], relu: false)
                }
            }
        }
    }

    /// (input shape, kernel, stride, padding): 3x3 pools at stride 1 and 2 on 16-float planes and
    /// 7x7 ones (more than 16 planes per worker: several parts), and a 2x2 pool run apart.
    static let pools: [([Int], Int, Int, Int)] = [([5, 16, 32, 32], 3, 1, 1), ([3, 16, 16, 16], 3, 2, 1), ([2, 12, 7, 7], 3, 1, 1),
                                                  ([2, 4, 8, 8], 2, 2, 0)]

    @Test(arguments: BackendKind.allCases)
    func poolsEqualPoolThenBatchNorm(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            for (i, (shape, k, stride, pad)) in Self.pools.enumerated() {
                let x = randomTensor(shape, seed: UInt64(40 + i))
                // max and average pooling of the same input: its gradient added to
                try assertFusedTrainingMatches([x], names: ["dx"], channels: shape[1], "\(shape) k\(k) s\(stride)") { fused, stats in
                    func one(_ isMax: Bool, _ stats: BatchNormStats) throws -> Tensor {
                        if fused { return try x.poolBatchNorm(max: isMax, kernel: k, stride: stride, padding: pad, stats: stats) }
                        let y = isMax ? try x.maxPool2d(kernel: k, stride: stride, padding: pad)
                            : try x.avgPool2d(kernel: k, stride: stride, padding: pad)
                        return try y.batchNorm(stats, training: true, overwritingInput: true)
                    }
                    return try one(true, stats[0]) + one(false, stats[1])
                }
            }
        }
    }

    @Test func badStatisticsAreOneLineErrors() {
        let x = randomTensor([2, 4, 8, 8], seed: 1), w = randomTensor([6, 4, 1, 1], seed: 2)
        #expect(throws: TensorError.self) { _ = try x.conv2dBatchNorm(w, stats: BatchNormStats(channels: 4)) }
        #expect(throws: TensorError.self) { _ = try randomTensor([1, 4, 1, 1], seed: 3).conv2dBatchNorm(w, stats: BatchNormStats(channels: 6)) }
        #expect(throws: TensorError.self) { _ = try x.poolBatchNorm(max: true, kernel: 3, stride: 1, padding: 1, stats: BatchNormStats(channels: 6)) }
        #expect(throws: TensorError.self) { _ = try x.poolBatchNorm(max: false, kernel: 3, stride: 1, padding: 2, stats: BatchNormStats(channels: 4)) }
    }
}
