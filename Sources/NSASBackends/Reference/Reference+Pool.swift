extension ReferenceBackend {
    // x is (N,C,H,W), y is (N,C,OH,OW). Calls body(yIndex, taps inside the image) per output.
    @inline(__always)
    private func forEachWindow(_ g: PoolGeometry, _ body: (_ yIndex: Int, _ taps: [Int]) -> Void) {
        let oh = g.outH, ow = g.outW
        for plane in 0..<(g.n * g.c) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var taps: [Int] = []
                    for ky in 0..<g.k {
                        let iy = oy * g.stride - g.pad + ky
                        if iy < 0 || iy >= g.h { continue }
                        for kx in 0..<g.k {
                            let ix = ox * g.stride - g.pad + kx
                            if ix < 0 || ix >= g.w { continue }
                            taps.append((plane * g.h + iy) * g.w + ix)
                        }
                    }
                    body((plane * oh + oy) * ow + ox, taps)
                }
            }
        }
    }

    public func pool2dForward(_ g: PoolGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        forEachWindow(g) { yi, taps in
            switch g.kind {
            case .max: y[yi] = taps.map { x[$0] }.max()!
            case .average: y[yi] = taps.reduce(Float(0)) { $0 + x[$1] } / Float(taps.count)
            }
        }
    }

    public func pool2dBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>,
                               dy: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        forEachWindow(g) { yi, taps in
            switch g.kind {
            case .max:
                var best = taps[0]
                for t in taps where x[t] > x[best] { best = t }
                dx[best] += dy[yi]
            case .average:
                for t in taps { dx[t] += dy[yi] / Float(taps.count) }
            }
        }
    }
}
