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

    /// A sum hands its output's gradient on to op outputs by sharing the buffer, which becomes a
    /// tensor's own before anything adds into it: op outputs summed, used again before and after
    /// the sum, on both sides of one sum, sums of sums; no side's gradient leaks into another's.
    @Test(arguments: BackendKind.allCases)
    func sharedGradientBuffers(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let a = randomTensor([2, 3, 4], seed: 8), b = randomTensor([2, 3, 4], seed: 9)
            try checkGradients([a, b], eps: 1e-3, "outputs summed") { try a.tanh() + b.sigmoid() }
            try checkGradients([a, b], eps: 1e-3, "summed, then used again") {
                let u = a.tanh(), v = b.sigmoid()
                let s = try u + v
                return try s * u + v.scaled(by: 3)
            }
            try checkGradients([a, b], eps: 1e-3, "used, then summed") {
                let u = a.tanh(), v = b.sigmoid()
                let p = try u * v
                return try (p + u) - v
            }
            try checkGradients([a, b], eps: 1e-3, "one output on both sides") { let u = a.tanh(); return try (u + u) * b }
            // a buffer of one's own is written in place, not copied again on every write
            let u = a.tanh()
            #expect(u.gradPtr == u.gradPtr && u.gradForWrite().ptr == u.gradPtr)
            try checkGradients([a, b], eps: 1e-3, "sums of sums") {
                let u = a.tanh(), v = b.tanh()
                let s = try u + v
                let t = try s + u
                return try t - v * s
            }
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
