import Foundation
import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct TensorTests {
    @Test func shapesAreChecked() {
        #expect(throws: TensorError.self) { try Tensor([1, 2, 3], shape: [2, 2]) }
        let t = try! Tensor([1, 2, 3, 4], shape: [2, 2])
        #expect(t.count == 4 && t.rank == 2 && t.array == [1, 2, 3, 4])
        #expect(throws: TensorError.notScalar(shape: [2, 2])) { try t.backward() }
    }

    @Test func errorsNameTheOp() {
        let x = Tensor(zeros: [2, 3])
        do { _ = try x.matmul(Tensor(zeros: [2, 3])); Issue.record("no error") } catch {
            #expect("\(error)".contains("matmul") && "\(error)".contains("[2, 3]"))
        }
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() throws {
        // NSAS sums the losses of several paths on shared weights: two backward passes add up.
        let w = try Tensor([2, -1], shape: [2], requiresGrad: true)
        let x = try Tensor([3, 4], shape: [2])
        try (w * x).sum().backward()
        #expect(w.grad == [3, 4])
        try (w * x).sum().scaled(by: 2).backward()
        #expect(w.grad == [9, 12])
        w.zeroGrad()
        #expect(w.grad == nil)
    }

    @Test func sharedSubgraphGetsTheSumOfItsUses() throws {
        let w = try Tensor([1.5], shape: [1], requiresGrad: true)
        let y = w.tanh()
        try (y * y + y).sum().backward()     // d/dw (t^2 + t) = (2t + 1) (1 - t^2)
        let t = Float(Foundation.tanh(1.5))
        let expected: Float = (2 * t + 1) * (1 - t * t)
        assertClose(w.grad!, [expected])
    }

    @Test func noGradBuildsNoGraph() throws {
        let w = try Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = try withNoGrad { try (w * w).sum() }
        #expect(!y.requiresGrad)
        try y.backward()    // nothing to do, no error
        #expect(w.grad == nil)
    }

    @Test func gradientsReachNonWeightLeaves() throws {
        // GDAS needs d loss / d logits: a leaf that is not a weight.
        let logits = try Tensor([0.1, 0.5, -0.3], shape: [1, 3], requiresGrad: true)
        let p = try logits.softmax()
        let values = try Tensor([1, 2, 3], shape: [1, 3])
        try (p * values).sum().backward()
        #expect(logits.grad != nil)
        try checkGradients([logits], eps: 1e-3) { try (logits.softmax() * values).sum() }
    }

    @Test func detachCutsTheTape() throws {
        // onehot - p.detach() + p carries p's gradient with onehot's value (straight-through).
        let logits = try Tensor([0.2, 1.0, -0.5], shape: [1, 3], requiresGrad: true)
        let p = try logits.softmax()
        let onehot = try Tensor([0, 1, 0], shape: [1, 3])
        let st = try onehot - p.detach() + p
        assertClose(st.array, [0, 1, 0], atol: 1e-6)
        let v = try Tensor([1, 2, 3], shape: [1, 3])
        try (st * v).sum().backward()
        let tape = try #require(logits.grad)
        logits.zeroGrad()
        // The graph was released by the first backward(); build p again, as PyTorch requires.
        try (logits.softmax() * v).sum().backward()
        #expect(tape == logits.grad)
    }

    @Test func graphIsReleasedAfterBackward() throws {
        weak var weakIntermediate: Tensor?
        let w = try Tensor([1, 2], shape: [2], requiresGrad: true)
        do {
            let mid = w.relu()
            weakIntermediate = mid
            try mid.sum().backward()
        }
        #expect(weakIntermediate == nil)
    }

    @Test func parameterInitIsSeeded() {
        var a = RNG(seed: 5), b = RNG(seed: 5)
        let p = Tensor.parameter(shape: [4, 3, 3, 3], rng: &a), q = Tensor.parameter(shape: [4, 3, 3, 3], rng: &b)
        #expect(p.array == q.array && p.requiresGrad)
        let bound = 1 / Float(27).squareRoot()
        #expect(p.array.allSatisfy { abs($0) <= bound })
    }

    @Test func deepGraphsDoNotOverflowTheStack() throws {
        let w = try Tensor([0.5], shape: [1], requiresGrad: true)
        var y = w
        for _ in 0..<20_000 { y = y.scaled(by: 1) }
        try y.sum().backward()
        #expect(w.grad == [1])
    }
}
