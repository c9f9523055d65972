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

    @Test func cropByHand() throws {
        let x = try Tensor((0..<9).map(Float.init), shape: [1, 1, 3, 3])
        #expect(try x.crop(top: 1, left: 1, height: 2, width: 2).array == [4, 5, 7, 8])
        #expect(throws: TensorError.self) { try x.crop(top: 2, left: 0, height: 2, width: 2) }
        #expect(throws: TensorError.self) { try x.reshaped([4, 2]) }
    }
}
