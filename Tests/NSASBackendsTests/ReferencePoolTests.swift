import NSASBackends
import NSASTestSupport
import Testing

@Suite struct ReferencePoolTests {
    let r = ReferenceBackend.shared
    let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]

    @Test func averageExcludesPadding() {
        let g = PoolGeometry(kind: .average, n: 1, c: 1, h: 3, w: 3, kernel: 3, stride: 1, padding: 1)
        var y = [Float](repeating: 0, count: 9)
        r.pool2dForward(g, y: &y, x: x)
        // Corner (0,0) averages 1,2,4,5 = 3; centre averages all = 5.
        assertClose(y, [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7])
    }

    @Test func maxAndItsGradient() {
        let g = PoolGeometry(kind: .max, n: 1, c: 1, h: 3, w: 3, kernel: 3, stride: 2, padding: 1)
        var y = [Float](repeating: 0, count: 4)
        r.pool2dForward(g, y: &y, x: x)
        #expect(y == [5, 6, 8, 9])
        var dx = [Float](repeating: 0, count: 9)
        r.pool2dBackward(g, dx: &dx, dy: [1, 1, 1, 1], x: x)
        #expect(dx == [0, 0, 0, 0, 1, 1, 0, 1, 1])
    }

    @Test func maxGradientGoesToTheFirstOfTies() {
        let g = PoolGeometry(kind: .max, n: 1, c: 1, h: 2, w: 2, kernel: 2, stride: 2, padding: 0)
        var dx = [Float](repeating: 0, count: 4)
        r.pool2dBackward(g, dx: &dx, dy: [1], x: [3, 3, 3, 3])
        #expect(dx == [1, 0, 0, 0])
    }
}
