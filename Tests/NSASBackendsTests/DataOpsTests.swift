import NSASBackends
import NSASTestSupport
import Testing

/// The data-movement and optimiser operations: the fast backend equals the reference (elementwise
/// ones bit for bit; reductions to double rounding), and the reference does what its doc says.
@Suite struct DataOpsTests {
    let r = ReferenceBackend.shared, b = BLASBackend.shared
    let n = 100_003

    @Test func fillCopyScaleAndBlockCopies() {
        for be in [r, b] as [any Backend] {
            var y = [Float](repeating: 1, count: n)
            be.fill(count: n, value: 2.5, y: &y)
            #expect(y.allSatisfy { $0 == 2.5 })
            let x = randomArray(n, seed: 1)
            be.copy(count: n, x: x, y: &y)
            #expect(y == x)
            be.scale(count: n, alpha: -2, y: &y)
            #expect(y == x.map { -2 * $0 })
            be.addScalar(count: n, value: 0.25, y: &y)
            #expect(y == x.map { -2 * $0 + 0.25 })
            // A 3 x 4 block from a 5-wide source into a 6-wide destination, then accumulated again.
            let src = (0..<20).map(Float.init)
            var dst = [Float](repeating: 0, count: 18)
            be.copyBlock(rows: 3, cols: 4, x: src, xStride: 5, y: &dst, yStride: 6, accumulate: false)
            #expect(dst[0..<4] == [0, 1, 2, 3] && dst[6..<10] == [5, 6, 7, 8] && dst[12..<16] == [10, 11, 12, 13] && dst[4] == 0)
            be.copyBlock(rows: 3, cols: 4, x: src, xStride: 5, y: &dst, yStride: 6, accumulate: true)
            #expect(dst[6..<10] == [10, 12, 14, 16])
        }
        // Large blocks run in parallel chunks on the fast backend: the same result.
        let x = randomArray(300 * 500, seed: 2)
        var yr = [Float](repeating: 1, count: 300 * 400), yb = yr
        r.copyBlock(rows: 300, cols: 400, x: x, xStride: 500, y: &yr, yStride: 400, accumulate: true)
        b.copyBlock(rows: 300, cols: 400, x: x, xStride: 500, y: &yb, yStride: 400, accumulate: true)
        #expect(yr == yb)
    }

    @Test func reductions() {
        let x = randomArray(n, seed: 3)
        let exact = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(r.sumOfSquares(count: n, x: x) - exact) < 1e-9 * exact)
        #expect(abs(b.sumOfSquares(count: n, x: x) - exact) < 1e-9 * exact)
        #expect(r.sum(count: n, x: x) == b.sum(count: n, x: x))
        var y = x
        y[777] += 0.5
        #expect(r.maxAbsDifference(count: n, a: x, b: y) == 0.5 && b.maxAbsDifference(count: n, a: x, b: y) == 0.5)
        y[5] = .nan
        #expect(r.maxAbsDifference(count: n, a: x, b: y).isNaN)
    }

    @Test(arguments: [(Float(0), false), (0.9, false), (0.9, true)])
    func sgdMatchesReferenceAndPyTorchsRule(_ momentum: Float, _ nesterov: Bool) {
        let g = randomArray(n, seed: 4), w0 = randomArray(n, seed: 5)
        var wr = w0, wb = w0, vr = randomArray(n, seed: 6), vb = vr
        let v0 = vr
        vr.withUnsafeMutableBufferPointer { v in
            r.sgdUpdate(count: n, w: &wr, g: g, v: momentum == 0 ? nil : v.baseAddress!, lr: 0.1, momentum: momentum, weightDecay: 0.01, nesterov: nesterov)
        }
        vb.withUnsafeMutableBufferPointer { v in
            b.sgdUpdate(count: n, w: &wb, g: g, v: momentum == 0 ? nil : v.baseAddress!, lr: 0.1, momentum: momentum, weightDecay: 0.01, nesterov: nesterov)
        }
        #expect(wr == wb && vr == vb)
        let i = 123, d = g[i] + 0.01 * w0[i]
        let v = momentum * v0[i] + d
        let step = momentum == 0 ? d : (nesterov ? d + momentum * v : v)
        #expect(abs(wr[i] - (w0[i] - 0.1 * step)) < 1e-6)
    }

    @Test func adamMatchesReference() {
        let g = randomArray(n, seed: 7), w0 = randomArray(n, seed: 8)
        var wr = w0, wb = w0, mr = [Float](repeating: 0, count: n), mb = mr, vr = mr, vb = mr
        r.adamUpdate(count: n, w: &wr, g: g, m: &mr, v: &vr, lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3, c1: 0.5, c2: 0.001)
        b.adamUpdate(count: n, w: &wb, g: g, m: &mb, v: &vb, lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3, c1: 0.5, c2: 0.001)
        #expect(wr == wb && mr == mb && vr == vb)
        // First step: m / c1 = d and v / c2 = d^2, so each weight moves by lr * sign(d).
        let d = g[9] + 1e-3 * w0[9]
        #expect(abs((w0[9] - wr[9]) - 0.01 * (d > 0 ? 1 : -1)) < 1e-4)
    }
}
