import NSASBackends
import NSASTestSupport
import Testing

@Suite struct BLASNormTests {
    /// Log-softmax rows (a vectorised exp in the fast backend) against the reference's libm exp,
    /// from tiny to vocabulary-sized rows and logits far from zero.
    @Test(arguments: [(1, 1), (3, 7), (5, 10_000), (700, 33)])
    func logSoftmaxMatchesReference(_ size: (Int, Int)) {
        let (rows, c) = size
        let r = ReferenceBackend.shared, b = BLASBackend.shared
        for spread: Float in [1, 30] {
            let x = randomArray(rows * c, seed: 41, lo: -spread, hi: spread).enumerated().map { $1 + Float($0 % 3) * 40 - 40 }
            var yr = [Float](repeating: 0, count: x.count), yb = [Float](repeating: 9, count: x.count)
            r.logSoftmax(rows: rows, c: c, y: &yr, x: x)
            b.logSoftmax(rows: rows, c: c, y: &yb, x: x)
            assertClose(yb, yr, rtol: 1e-5, atol: 2e-5, "log-softmax \(rows)x\(c) spread \(spread)")
            let dy = randomArray(x.count, seed: 42)
            var dxr = randomArray(x.count, seed: 43), dxb = dxr
            r.logSoftmaxBackward(rows: rows, c: c, dx: &dxr, dy: dy, y: yr)
            b.logSoftmaxBackward(rows: rows, c: c, dx: &dxb, dy: dy, y: yr)
            assertClose(dxb, dxr, rtol: 1e-4, atol: 1e-4, "backward \(rows)x\(c)")
        }
    }

    @Test(arguments: [(2, 3, 5), (16, 16, 256), (4, 64, 64), (3, 1, 1)])
    func matchesReference(_ size: (Int, Int, Int)) {
        let (n, c, s) = size
        let r = ReferenceBackend.shared, b = BLASBackend.shared
        let x = randomArray(n * c * s, seed: 31, lo: -2, hi: 3), dy = randomArray(n * c * s, seed: 32)
        var mr = [Float](repeating: 0, count: c), vr = mr, mb = mr, vb = mr
        r.channelMoments(n: n, c: c, s: s, mean: &mr, variance: &vr, x: x)
        b.channelMoments(n: n, c: c, s: s, mean: &mb, variance: &vb, x: x)
        assertClose(mb, mr, atol: 1e-5, "mean"); assertClose(vb, vr, atol: 1e-5, "variance")
        let scale = randomArray(c, seed: 33), shift = randomArray(c, seed: 34)
        var yr = [Float](repeating: 0, count: x.count), yb = yr
        r.channelAffine(n: n, c: c, s: s, y: &yr, x: x, scale: scale, shift: shift, mean: mr)
        b.channelAffine(n: n, c: c, s: s, y: &yb, x: x, scale: scale, shift: shift, mean: mr)
        assertClose(yb, yr, atol: 1e-5, "affine")
        let inv = vr.map { 1 / ($0 + 1e-5).squareRoot() }
        for gamma in [nil, randomArray(c, seed: 35)] {
            var dxr = randomArray(x.count, seed: 36), dxb = dxr
            var dgr = [Float](repeating: 0.5, count: c), dgb = dgr, dbr = dgr, dbb = dgr
            r.batchNormBackward(n: n, c: c, s: s, dx: &dxr, dgamma: &dgr, dbeta: &dbr, dy: dy, x: x, mean: mr, invStd: inv, gamma: gamma)
            b.batchNormBackward(n: n, c: c, s: s, dx: &dxb, dgamma: &dgb, dbeta: &dbb, dy: dy, x: x, mean: mr, invStd: inv, gamma: gamma)
            assertClose(dxb, dxr, rtol: 1e-3, atol: 1e-4, "dx")
            assertClose(dgb, dgr, rtol: 1e-3, atol: 1e-3, "dgamma")
            assertClose(dbb, dbr, rtol: 1e-4, atol: 1e-4, "dbeta")
            // overwriting dx (a first gradient) equals adding to zeros
            var dx0 = [Float](repeating: 0, count: x.count), dxo = [Float](repeating: .nan, count: x.count)
            r.batchNormBackward(n: n, c: c, s: s, dx: &dx0, dgamma: &dgr, dbeta: &dbr, dy: dy, x: x, mean: mr, invStd: inv, gamma: gamma)
            b.batchNormBackward(n: n, c: c, s: s, dx: &dxo, dgamma: &dgb, dbeta: &dbb, dy: dy, x: x, mean: mr, invStd: inv, gamma: gamma,
                                accumulate: false)
            assertClose(dxo, dx0, rtol: 1e-3, atol: 1e-4, "dx, overwriting")
        }
    }
}
