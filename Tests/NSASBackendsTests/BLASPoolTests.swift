import NSASBackends
import NSASTestSupport
import Testing

@Suite struct BLASPoolTests {
    @Test(arguments: [
        PoolGeometry(kind: .max, n: 2, c: 3, h: 8, w: 8, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 9, w: 7, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 8, w: 8, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 9, w: 7, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 8, c: 16, h: 16, w: 16, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 8, c: 16, h: 16, w: 16, kernel: 2, stride: 2, padding: 0),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 1, w: 1, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 1, w: 1, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 1, w: 9, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 5, w: 2, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 33, w: 31, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 7, w: 7, kernel: 5, stride: 1, padding: 2),
        // Widths that are whole vectors take the direct kernels: one, two and three vectors,
        // odd and even heights, a single row, stride 2 with a half-vector output row.
        PoolGeometry(kind: .max, n: 2, c: 3, h: 32, w: 32, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 32, w: 32, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 32, w: 32, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 32, w: 32, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 16, w: 16, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 16, w: 16, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 7, w: 48, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 7, w: 48, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 5, w: 48, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 5, w: 48, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 1, w: 16, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 1, w: 16, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 2, w: 16, kernel: 3, stride: 2, padding: 1),
        // Widths up to 32 that are not whole vectors (28, 14, 7 at 28x28; odd): staged into
        // whole-vector rows for the direct kernels.
        PoolGeometry(kind: .max, n: 2, c: 3, h: 28, w: 28, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 28, w: 28, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 28, w: 28, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 28, w: 28, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 14, w: 14, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 14, w: 14, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 2, c: 3, h: 7, w: 7, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 2, c: 3, h: 7, w: 7, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .average, n: 1, c: 2, h: 6, w: 31, kernel: 3, stride: 2, padding: 1),
        PoolGeometry(kind: .max, n: 1, c: 2, h: 5, w: 17, kernel: 3, stride: 1, padding: 1),
        PoolGeometry(kind: .max, n: 16, c: 16, h: 28, w: 28, kernel: 3, stride: 2, padding: 1),      // split across workers
        PoolGeometry(kind: .average, n: 16, c: 16, h: 14, w: 14, kernel: 3, stride: 1, padding: 1),
    ])
    func matchesReference(_ g: PoolGeometry) {
        let r = ReferenceBackend.shared, b = BLASBackend.shared
        let x = randomArray(g.n * g.c * g.h * g.w, seed: 21)
        let dy = randomArray(g.n * g.c * g.outH * g.outW, seed: 22)
        var yr = [Float](repeating: 0, count: dy.count), yb = yr
        r.pool2dForward(g, y: &yr, x: x)
        b.pool2dForward(g, y: &yb, x: x)
        assertClose(yb, yr, "forward \(g)")
        var dxr = randomArray(x.count, seed: 23), dxb = dxr
        r.pool2dBackward(g, dx: &dxr, dy: dy, x: x)
        b.pool2dBackward(g, dx: &dxb, dy: dy, x: x)
        assertClose(dxb, dxr, "backward \(g)")
    }

    @Test(arguments: [(PoolKind.max, 11, 1), (.average, 11, 1), (.max, 32, 1), (.max, 32, 2), (.max, 16, 2), (.average, 32, 2),
                      (.max, 28, 2), (.max, 7, 1), (.max, 14, 2)])
    func tiesRouteLikeTheReference(_ kind: PoolKind, _ w: Int, _ stride: Int) {
        // Many equal values: max pooling must pick the same (first) tap as the reference.
        let g = PoolGeometry(kind: kind, n: 2, c: 2, h: 9, w: w, kernel: 3, stride: stride, padding: 1)
        let x = randomArray(g.n * g.c * g.h * g.w, seed: 24).map { ($0 * 3).rounded() }
        let dy = randomArray(g.n * g.c * g.outH * g.outW, seed: 25)
        var dxr = [Float](repeating: 0, count: x.count), dxb = dxr
        ReferenceBackend.shared.pool2dBackward(g, dx: &dxr, dy: dy, x: x)
        BLASBackend.shared.pool2dBackward(g, dx: &dxb, dy: dy, x: x)
        assertClose(dxb, dxr, "ties")
    }
}
