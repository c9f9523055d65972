import NSASBackends
import NSASTestSupport
import Testing

@Suite struct ReferenceConvTests {
    let r = ReferenceBackend.shared

    @Test func convByHand() {
        // 3x3 input 1..9, 2x2 kernel [[1,0],[0,-1]], no padding: y = x[i][j] - x[i+1][j+1] = -4 everywhere.
        let g = ConvGeometry(n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kH: 2, kW: 2)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var y = [Float](repeating: 9, count: 4)
        r.conv2dForward(g, y: &y, x: x, w: [1, 0, 0, -1])
        #expect(y == [-4, -4, -4, -4])
        // Padding 1, stride 2: outputs at (0,0),(0,2),(2,0),(2,2) of the padded correlation.
        let gp = ConvGeometry(n: 1, cIn: 1, h: 3, w: 3, cOut: 1, kH: 2, kW: 2, stride: 2, padding: 1)
        var yp = [Float](repeating: 0, count: gp.outH * gp.outW)
        r.conv2dForward(gp, y: &yp, x: x, w: [1, 0, 0, -1])
        #expect(gp.outH == 2)
        #expect(yp == [-1, -3, -7, -4])
    }

    @Test(arguments: [
        ConvGeometry(n: 2, cIn: 3, h: 5, w: 6, cOut: 4, kH: 3, kW: 3, stride: 2, padding: 1),
        ConvGeometry(n: 1, cIn: 4, h: 7, w: 7, cOut: 4, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 4),
        ConvGeometry(n: 2, cIn: 4, h: 4, w: 4, cOut: 6, kH: 1, kW: 1, groups: 2),
    ])
    func backwardIsTheAdjoint(_ g: ConvGeometry) {
        // <conv(x, w), dy> = <x, dX(dy, w)> = <w, dW(x, dy)>
        let x = randomArray(g.n * g.cIn * g.h * g.w, seed: 1)
        let w = randomArray(g.weightCount, seed: 2)
        let dy = randomArray(g.n * g.cOut * g.outH * g.outW, seed: 3)
        var y = [Float](repeating: 0, count: dy.count)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        r.conv2dForward(g, y: &y, x: x, w: w)
        r.conv2dBackwardData(g, dx: &dx, dy: dy, w: w, x: x)
        r.conv2dBackwardWeight(g, dw: &dw, x: x, dy: dy)
        let lhs = dot(y, dy)
        #expect(abs(lhs - dot(x, dx)) < 1e-3 * max(1, abs(lhs)))
        #expect(abs(lhs - dot(w, dw)) < 1e-3 * max(1, abs(lhs)))
    }
}
