import NSASBackends
import NSASTestSupport
import Testing

@Suite struct BLASBackendTests {
    let r = ReferenceBackend.shared, b = BLASBackend.shared

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesReference(_ trans: (Bool, Bool)) {
        for (m, n, k) in [(3, 5, 7), (64, 1, 33), (1, 200, 9), (130, 90, 70)] {
            let a = randomArray(m * k, seed: 1), bb = randomArray(k * n, seed: 2)
            let c0 = randomArray(m * n, seed: 3)
            let lda = trans.0 ? m : k, ldb = trans.1 ? k : n
            var cr = c0, cb = c0
            r.gemm(transA: trans.0, transB: trans.1, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: bb, ldb: ldb, beta: 2, c: &cr, ldc: n)
            b.gemm(transA: trans.0, transB: trans.1, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: bb, ldb: ldb, beta: 2, c: &cb, ldc: n)
            assertClose(cb, cr, rtol: 1e-4, atol: 1e-4, "gemm \(m)x\(n)x\(k) \(trans)")
        }
    }

    @Test(arguments: UnaryOp.allCases)
    func unaryMatchesReference(_ op: UnaryOp) {
        let count = 100_003
        let x = randomArray(count, seed: 4, lo: -4, hi: 4), dy = randomArray(count, seed: 5)
        var yr = [Float](repeating: 0, count: count), yb = yr
        r.unary(op, count: count, y: &yr, x: x)
        b.unary(op, count: count, y: &yb, x: x)
        assertClose(yb, yr, rtol: 0, atol: 0, "\(op)")
        var dr = randomArray(count, seed: 6), db = dr
        r.unaryBackward(op, count: count, dx: &dr, dy: dy, x: x, y: yr)
        b.unaryBackward(op, count: count, dx: &db, dy: dy, x: x, y: yb)
        assertClose(db, dr, rtol: 0, atol: 0, "\(op) backward")
    }

    @Test(arguments: BinaryOp.allCases)
    func binaryMatchesReference(_ op: BinaryOp) {
        let count = 70_001
        let a = randomArray(count, seed: 7), c = randomArray(count, seed: 8)
        var zr = [Float](repeating: 0, count: count), zb = zr
        r.binary(op, count: count, z: &zr, a: a, b: c)
        b.binary(op, count: count, z: &zb, a: a, b: c)
        assertClose(zb, zr, rtol: 0, atol: 0, "\(op)")
        // The fast axpy may fuse the multiply-add (one rounding instead of two).
        r.axpy(count: count, alpha: 0.3, x: a, y: &zr)
        b.axpy(count: count, alpha: 0.3, x: a, y: &zb)
        assertClose(zb, zr, rtol: 1e-6, atol: 1e-7, "axpy")
    }

    @Test func coreStatusIsReported() {
        let s = b.core
        #expect(!s.inUse.isEmpty && s.inUse != "unknown")
        #expect(s.summary.contains(s.inUse))
    }
}
