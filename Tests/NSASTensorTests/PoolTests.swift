import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct PoolTests {
    @Test(arguments: BackendKind.allCases)
    func gradients(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            // Distinct values far apart keep max pooling away from ties under the finite-difference step.
            var rng = RNG(seed: 3)
            var v = (0..<(2 * 3 * 6 * 6)).map { Float($0) * 0.37 }
            rng.shuffle(&v)
            let x = try Tensor(v, shape: [2, 3, 6, 6], requiresGrad: true)
            try checkGradients([x], eps: 1e-2, "max s1") { try x.maxPool2d(kernel: 3, stride: 1, padding: 1) }
            try checkGradients([x], eps: 1e-2, "max s2") { try x.maxPool2d(kernel: 3, stride: 2, padding: 1) }
            try checkGradients([x], "avg s1") { try x.avgPool2d(kernel: 3, stride: 1, padding: 1) }
            try checkGradients([x], "avg s2") { try x.avgPool2d(kernel: 3, stride: 2, padding: 1) }
            try checkGradients([x], "global") { try x.globalAvgPool() }
        }
    }

    @Test func averageExcludesPadding() throws {
        let x = try Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2])
        let y = try x.avgPool2d(kernel: 3, stride: 1, padding: 1)
        #expect(y.array == [2.5, 2.5, 2.5, 2.5])
        #expect(try x.globalAvgPool().array == [2.5])
        #expect(throws: TensorError.self) { try x.maxPool2d(kernel: 3, stride: 1, padding: 2) }
    }
}
