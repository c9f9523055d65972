import NSASBackends
import NSASTestSupport
import Testing

@Suite struct ReferenceBackendTests {
    let r = ReferenceBackend.shared

    @Test func gemmByHand() {
        // [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: 1, count: 4)
        r.gemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [4, 5, 10, 11])
        // c = 2 * a b + 1 * c with a given transposed
        let at: [Float] = [1, 4, 2, 5, 3, 6]
        r.gemm(transA: true, transB: false, m: 2, n: 2, k: 3, alpha: 2, a: at, lda: 2, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        #expect(c == [12, 15, 30, 33])
    }

    @Test func elementwiseByHand() {
        let x: [Float] = [-2, 0, 3]
        var y = [Float](repeating: 0, count: 3)
        r.unary(.relu, count: 3, y: &y, x: x)
        #expect(y == [0, 0, 3])
        r.unary(.sigmoid, count: 3, y: &y, x: x)
        assertClose(y, [0.11920292, 0.5, 0.95257413])
        r.unary(.tanh, count: 3, y: &y, x: x)
        assertClose(y, [-0.96402758, 0, 0.99505475])
        var dx: [Float] = [1, 1, 1]
        r.unaryBackward(.tanh, count: 3, dx: &dx, dy: [1, 2, 1], x: x, y: y)
        assertClose(dx, [1 + (1 - 0.96402758 * 0.96402758), 3, 1 + (1 - 0.99505475 * 0.99505475)])
        var z = [Float](repeating: 0, count: 3)
        r.binary(.sub, count: 3, z: &z, a: x, b: [1, 1, 1])
        #expect(z == [-3, -1, 2])
        r.axpy(count: 3, alpha: 2, x: x, y: &z)
        #expect(z == [-7, -1, 8])
    }
}
