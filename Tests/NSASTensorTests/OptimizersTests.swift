import NSASTensor
import NSASTestSupport
import Testing

@Suite struct OptimizersTests {
    @Test func sgdMatchesPyTorchRule() throws {
        // Two steps of PyTorch SGD(lr 0.1, momentum 0.9, weight_decay 0.01) with gradient 1:
        // g1 = 1 + 0.01*1 = 1.01, v1 = 1.01, w1 = 1 - 0.101 = 0.899
        // g2 = 1 + 0.00899 = 1.00899, v2 = 0.9*1.01 + 1.00899 = 1.91799, w2 = 0.899 - 0.191799
        let w = try Tensor([1], shape: [1], requiresGrad: true)
        let opt = SGD(parameters: [w], lr: 0.1, momentum: 0.9, weightDecay: 0.01)
        for _ in 0..<2 { opt.zeroGrad(); try w.sum().backward(); opt.step() }
        assertClose(w.item, 0.899 - 0.191799, atol: 1e-6)
        // Nesterov: step = g + mu * v.
        let n = try Tensor([1], shape: [1], requiresGrad: true)
        let nopt = SGD(parameters: [n], lr: 0.1, momentum: 0.9, nesterov: true)
        try n.sum().backward(); nopt.step()
        assertClose(n.item, 1 - 0.1 * (1 + 0.9), atol: 1e-6)
    }

    @Test func parametersOffThePathAreUntouched() throws {
        let on = try Tensor([1], shape: [1], requiresGrad: true), off = try Tensor([1], shape: [1], requiresGrad: true)
        let opt = SGD(parameters: [on, off], lr: 0.1, momentum: 0.9, weightDecay: 0.1)
        try on.sum().backward(); opt.step()
        #expect(off.item == 1 && on.item != 1)
    }

    @Test func adamFirstStepIsLr() throws {
        // Bias-corrected Adam moves each weight by lr * sign(grad) on the first step.
        let w = try Tensor([1, -1], shape: [2], requiresGrad: true)
        let opt = Adam(parameters: [w], lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3)
        try (w * Tensor([2, -3], shape: [2])).sum().backward()
        opt.step()
        assertClose(w.array, [1 - 3e-4, -1 + 3e-4], atol: 1e-7)
        #expect(opt.steps == [1])
    }

    @Test func sgdLowersALoss() throws {
        var rng = RNG(seed: 1)
        let w = Tensor.parameter(shape: [3, 4], rng: &rng)
        let x = randomTensor([8, 4], seed: 2, requiresGrad: false)
        // Labels from a hidden linear map: the problem is separable, so the loss can fall far.
        let labels = try x.linear(randomTensor([3, 4], seed: 3, requiresGrad: false)).argmaxRows()
        let opt = SGD(parameters: [w], lr: 0.5, momentum: 0.9)
        let first = try x.linear(w).crossEntropy(labels: labels).item
        for _ in 0..<50 { opt.zeroGrad(); try x.linear(w).crossEntropy(labels: labels).backward(); opt.step() }
        #expect(try x.linear(w).crossEntropy(labels: labels).item < first * 0.5)
    }

    @Test func clipByGlobalNorm() throws {
        let a = try Tensor([0, 0], shape: [2], requiresGrad: true), b = try Tensor([0], shape: [1], requiresGrad: true)
        try (a * Tensor([3, 0], shape: [2])).sum().backward()
        try (b * Tensor([4], shape: [1])).sum().backward()
        let norm = clipGradNorm([a, b], maxNorm: 1)
        assertClose(norm, 5)
        assertClose(a.grad! + b.grad!, [0.6, 0, 0.8], atol: 1e-5)
        #expect(clipGradNorm([a, b], maxNorm: 10) < 1.0001)
        assertClose(a.grad! + b.grad!, [0.6, 0, 0.8], atol: 1e-5)
    }
}
