import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct ShapeTests {
    @Test func concatAndNarrowByHand() throws {
        let a = try Tensor([1, 2, 3, 4], shape: [1, 2, 2]), b = try Tensor([5, 6], shape: [1, 1, 2])
        let c = try Tensor.concat([a, b], axis: 1)
        #expect(c.shape == [1, 3, 2] && c.array == [1, 2, 3, 4, 5, 6])
        #expect(try c.narrow(axis: 1, start: 1, length: 2).array == [3, 4, 5, 6])
        #expect(try c.narrow(axis: 2, start: 1, length: 1).array == [2, 4, 6])
        #expect(throws: TensorError.self) { try c.narrow(axis: 1, start: 2, length: 2) }
        #expect(throws: TensorError.self) { try Tensor.concat([a, Tensor(zeros: [2, 1, 2])], axis: 1) }
        #expect(throws: TensorError.self) { try Tensor.concat([], axis: 0) }
    }

    @Test func gradients() throws {
        let a = randomTensor([2, 3, 4, 4], seed: 1), b = randomTensor([2, 2, 4, 4], seed: 2)
        try checkGradients([a, b], "concat") { try Tensor.concat([a, b, a], axis: 1) }
        try checkGradients([a], "narrow") { try a.narrow(axis: 1, start: 1, length: 2) }
        try checkGradients([a], "crop") { try a.crop(top: 1, left: 1, height: 3, width: 3) }
        try checkGradients([a], "reshape") { try a.reshaped([6, 16]) }
    }

    /// A concatenation of sums equals the concatenation of the sums, exactly, and its gradients
    /// agree with central differences: parts of one tensor and of two, a tensor in two parts and on
    /// both sides of a sum, and a leaf summed with an op output while other ops also read the leaf
    /// (a leaf's gradient buffer must not be shared: it goes on receiving the other ops' gradients).
    @Test(arguments: BackendKind.allCases)
    func concatOfSums(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let a = randomTensor([2, 3, 4, 4], seed: 1), b = randomTensor([2, 3, 4, 4], seed: 2), c = randomTensor([2, 2, 4, 4], seed: 3)
            let fused = try withNoGrad { try Tensor.concatSums([[a, b], [c], [b, a]], axis: 1) }
            let apart = try withNoGrad { try Tensor.concat([a + b, c, b + a], axis: 1) }
            #expect(fused.shape == [2, 8, 4, 4] && fused.array == apart.array)
            try checkGradients([a, b, c], eps: 1e-3, "sums and a copy") {
                try Tensor.concatSums([[a.tanh(), b.sigmoid()], [c.tanh()], [b.tanh(), a.tanh()]], axis: 1)
            }
            try checkGradients([a, c], eps: 1e-3, "one output in two parts and on both sides") {
                let u = a.tanh()
                return try Tensor.concatSums([[u, u], [c.tanh()], [u]], axis: 1) * Tensor.concat([a, c, a], axis: 1)
            }
            try checkGradients([a, b], eps: 1e-3, "a leaf summed with an op output, read by other ops") {
                let u = b.tanh(), v = a.sigmoid()
                let x = try Tensor.concatSums([[a, u], [v]], axis: 1), y = try Tensor.concatSums([[v], [a, u]], axis: 1)
                return try x * y
            }
            try checkGradients([a, b], eps: 1e-3, "the same, the op output first") {
                let u = b.tanh(), w = a.sigmoid()
                return try Tensor.concatSums([[u, a], [w, a]], axis: 1) * Tensor.concat([w, u], axis: 1)
            }
            #expect(throws: TensorError.self) { _ = try Tensor.concatSums([[a, b, a]], axis: 1) }
            #expect(throws: TensorError.self) { _ = try Tensor.concatSums([[a, c]], axis: 1) }
            #expect(throws: TensorError.self) { _ = try Tensor.concatSums([[]], axis: 1) }
            #expect(throws: TensorError.self) { _ = try Tensor.concatSums([[a], [c.reshaped([2, 2, 2, 8])]], axis: 1) }
        }
    }

    @Test func cropByHand() throws {
        let x = try Tensor((0..<9).map(Float.init), shape: [1, 1, 3, 3])
        #expect(try x.crop(top: 1, left: 1, height: 2, width: 2).array == [4, 5, 7, 8])
        #expect(throws: TensorError.self) { try x.crop(top: 2, left: 0, height: 2, width: 2) }
        #expect(throws: TensorError.self) { try x.reshaped([4, 2]) }
    }
}
