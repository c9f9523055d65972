import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

/// `factorizedReduce` (FactorizedReduce's two strided 1x1 convolutions, the second on the input
/// shifted by a pixel, concatenated) against the crop, the convolutions and the concatenation.
@Suite struct FactorizedReduceTests {
    /// (input shape, first half's outputs, second half's): whole-vector rows (32, 28 wide), narrow
    /// and unequal halves, the smallest plane.
    static let cases: [([Int], Int, Int)] = [([2, 3, 32, 32], 8, 8), ([2, 16, 28, 28], 8, 8), ([2, 4, 6, 10], 5, 3),
                                             ([1, 2, 2, 2], 2, 2), ([3, 5, 64, 34], 4, 4)]

    @Test(arguments: BackendKind.allCases, [false, true])
    func equalsCropConvolutionsAndConcatenation(_ kind: BackendKind, _ relu: Bool) throws {
        try withBackend(kind.make()) {
            for (i, (shape, c1, c2)) in Self.cases.enumerated() {
                let seed = UInt64(20 * i)
                let x = randomTensor(shape, seed: seed), w1 = randomTensor([c1, shape[1], 1, 1], seed: seed + 1)
                let w2 = randomTensor([c2, shape[1], 1, 1], seed: seed + 2)
                let (h, w) = (shape[2], shape[3])
                func apart() throws -> Tensor {
                    try Tensor.concat([x.conv2d(w1, stride: 2, reluInput: relu),
                                       x.crop(top: 1, left: 1, height: h - 1, width: w - 1).conv2d(w2, stride: 2, reluInput: relu)], axis: 1)
                }
                let what = "\(shape) \(c1)+\(c2) relu \(relu)"
                let fused = try tapeGradients([x, w1, w2]) { try x.factorizedReduce(w1, w2, reluInput: relu) }
                let reference = try tapeGradients([x, w1, w2], apart)
                for (j, name) in ["dx", "dw1", "dw2"].enumerated() { assertClose(fused[j], reference[j], atol: 1e-4, "\(name) \(what)") }
                let y = try withNoGrad { try x.factorizedReduce(w1, w2, reluInput: relu) }
                assertClose(y.array, try withNoGrad(apart).array, atol: 1e-5, "forward \(what)")
                #expect(y.shape == [shape[0], c1 + c2, h / 2, w / 2])
            }
        }
    }

    @Test func gradientsByCentralDifferences() throws {
        let x = randomTensor([2, 3, 4, 6], seed: 1), w1 = randomTensor([2, 3, 1, 1], seed: 2), w2 = randomTensor([3, 3, 1, 1], seed: 3)
        try checkGradients([x, w1, w2], "factorizedReduce") { try x.factorizedReduce(w1, w2) }
        // the input's gradient already there: added to, not overwritten
        try checkGradients([x, w1, w2], "reused input") { try x.factorizedReduce(w1, w2) + x.conv2d(w1.concatWith(w2), stride: 2) }
    }

    @Test func badShapesAreOneLineErrors() {
        let w = Tensor(zeros: [2, 3, 1, 1])
        for (x, w1, w2) in [(Tensor(zeros: [1, 3, 5, 4]), w, w), (Tensor(zeros: [1, 3, 4, 4]), Tensor(zeros: [2, 3, 3, 3]), w),
                            (Tensor(zeros: [1, 3, 4, 4]), w, Tensor(zeros: [2, 2, 1, 1])), (Tensor(zeros: [3, 4, 4]), w, w)] {
            #expect(throws: TensorError.self, "\(x.shape) \(w1.shape) \(w2.shape)") { try x.factorizedReduce(w1, w2) }
        }
    }
}

private extension Tensor {
    /// The two weights as one (c1 + c2, C, 1, 1) tensor on the tape.
    func concatWith(_ other: Tensor) throws -> Tensor { try Tensor.concat([self, other], axis: 0) }
}
