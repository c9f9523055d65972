import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct ElementwiseTests {
    @Test(arguments: BackendKind.allCases)
    func unaryGradients(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([3, 7], seed: 1, lo: -3, hi: 3)
            try checkGradients([x], eps: 1e-3, "tanh") { x.tanh() }
            try checkGradients([x], eps: 1e-3, "sigmoid") { x.sigmoid() }
            try checkGradients([x], eps: 1e-3, "relu") { x.relu() }
            try checkGradients([x], "scaled") { x.scaled(by: -2.5) }
            #expect(x.identity() === x)
        }
    }

    @Test(arguments: BackendKind.allCases)
    func binaryGradients(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let a = randomTensor([2, 3, 4], seed: 2), b = randomTensor([2, 3, 4], seed: 3)
            try checkGradients([a, b], "add") { try a + b }
            try checkGradients([a, b], "sub") { try a - b }
            try checkGradients([a, b], "mul") { try a * b }
            // a tensor's first gradient is written, the next ones added: one tensor on both sides, used thrice
            try checkGradients([a, b], "reused") { try (a + a) + (a - b) }
        }
    }

    @Test func broadcasting() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), row = try Tensor([10, 20, 30], shape: [3])
        #expect(try (a + row).array == [11, 22, 33, 14, 25, 36])
        let col = try Tensor([2, 3], shape: [2, 1])
        #expect(try (a * col).array == [2, 4, 6, 12, 15, 18])
        let s = try Tensor([2], shape: [1])
        #expect(try (a - s).array == [-1, 0, 1, 2, 3, 4])
        #expect(throws: TensorError.self) { try a + Tensor(zeros: [2]) }
        let x = randomTensor([2, 3, 4], seed: 4), m = randomTensor([3, 1], seed: 5), w = randomTensor([1], seed: 6)
        try checkGradients([x, m], "broadcast mul") { try x * m }
        try checkGradients([x, w], "scalar weight") { try w * x }
    }

    @Test func zerosLike() {
        let z = randomTensor([2, 5], seed: 7).zerosLike()
        #expect(z.shape == [2, 5] && z.array.allSatisfy { $0 == 0 } && !z.requiresGrad)
    }
}
