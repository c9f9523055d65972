import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct LinearTests {
    @Test(arguments: BackendKind.allCases)
    func gradients(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            let x = randomTensor([5, 6], seed: 1), w = randomTensor([4, 6], seed: 2), b = randomTensor([4], seed: 3)
            let m = randomTensor([6, 3], seed: 4)
            try checkGradients([x, w, b], "linear") { try x.linear(w, bias: b) }
            try checkGradients([x, w], "linear without bias") { try x.linear(w) }
            try checkGradients([x, m], "matmul") { try x.matmul(m) }
            let table = randomTensor([7, 3], seed: 5)
            try checkGradients([table], "embedding") { try table.embedding([6, 0, 6, 2]) }
        }
    }

    @Test func byHand() throws {
        let x = try Tensor([1, 2], shape: [1, 2]), w = try Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2])
        #expect(try x.linear(w, bias: Tensor([0, 0, 10], shape: [3])).array == [1, 2, 13])
        #expect(try x.matmul(Tensor([1, 2, 3, 4], shape: [2, 2])).array == [7, 10])
        let table = try Tensor([0, 1, 2, 3, 4, 5], shape: [3, 2])
        #expect(try table.embedding([2, 0]).array == [4, 5, 0, 1])
        #expect(throws: TensorError.self) { try table.embedding([3]) }
        #expect(throws: TensorError.self) { try x.linear(Tensor(zeros: [3, 3])) }
    }
}
