import Foundation
import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct LossTests {
    @Test func crossEntropyByHand() throws {
        // Uniform logits: loss = log(C).
        let x = Tensor(zeros: [2, 4], requiresGrad: true)
        let loss = try x.crossEntropy(labels: [1, 3])
        assertClose(loss.item, Float(log(4.0)))
        try loss.backward()
        assertClose(x.grad!, [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375])
        #expect(throws: TensorError.self) { try x.crossEntropy(labels: [1]) }
        #expect(throws: TensorError.self) { try x.crossEntropy(labels: [1, 4]) }
    }

    @Test func gradients() throws {
        let x = randomTensor([3, 5], seed: 1, lo: -3, hi: 3)
        try checkGradients([x], eps: 1e-3, "logSoftmax") { try x.logSoftmax() }
        try checkGradients([x], eps: 1e-3, "softmax") { try x.softmax() }
        try checkGradients([x], eps: 1e-3, "crossEntropy") { try x.crossEntropy(labels: [0, 4, 2]) }
        try checkGradients([x], "mean") { x.mean() }
        try checkGradients([x], "sum") { x.sum() }
    }

    @Test func stableForLargeLogits() throws {
        let x = try Tensor([1000, 0, -1000], shape: [1, 3])
        let p = try x.softmax().array
        #expect(p[0] == 1 && p.allSatisfy { $0.isFinite })
        #expect(try x.logSoftmax().array[0] == 0)
        #expect(x.argmaxRows() == [0])
    }
}
