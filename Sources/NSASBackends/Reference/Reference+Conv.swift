extension ReferenceBackend {
    // x is (N,Cin,H,W), w is (Cout,Cin/groups,KH,KW), y is (N,Cout,OH,OW).
    // Every kernel visits the same (output, tap) pairs; `forEachTap` is their single definition.
    @inline(__always)
    private func forEachTap(_ g: ConvGeometry, _ body: (_ yIndex: Int, _ xIndex: Int, _ wIndex: Int) -> Void) {
        let oh = g.outH, ow = g.outW, cig = g.cInPerGroup, cog = g.cOutPerGroup
        for n in 0..<g.n {
            for co in 0..<g.cOut {
                let group = co / cog
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let yIndex = ((n * g.cOut + co) * oh + oy) * ow + ox
                        for ci in 0..<cig {
                            let cInput = group * cig + ci
                            for ky in 0..<g.kH {
                                let iy = oy * g.strideH - g.padH + ky * g.dilationH
                                if iy < 0 || iy >= g.h { continue }
                                for kx in 0..<g.kW {
                                    let ix = ox * g.strideW - g.padW + kx * g.dilationW
                                    if ix < 0 || ix >= g.w { continue }
                                    let xIndex = ((n * g.cIn + cInput) * g.h + iy) * g.w + ix
                                    let wIndex = ((co * cig + ci) * g.kH + ky) * g.kW + kx
                                    body(yIndex, xIndex, wIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func conv2dForward(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>,
                              x: UnsafePointer<Float>, w: UnsafePointer<Float>) {
        y.update(repeating: 0, count: g.n * g.cOut * g.outH * g.outW)
        forEachTap(g) { yi, xi, wi in y[yi] += input(g, x, xi) * w[wi] }
    }

    public func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                                   dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        forEachTap(g) { yi, xi, wi in
            if !g.reluInput || x[xi] > 0 { dx[xi] += dy[yi] * w[wi] }
        }
    }

    public func conv2dBackwardWeight(_ g: ConvGeometry, dw: UnsafeMutablePointer<Float>,
                                     x: UnsafePointer<Float>, dy: UnsafePointer<Float>) {
        forEachTap(g) { yi, xi, wi in dw[wi] += dy[yi] * input(g, x, xi) }
    }

    /// The value the convolution reads at x[xi]: x, or relu(x).
    @inline(__always)
    private func input(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ xi: Int) -> Float {
        g.reluInput ? max(x[xi], 0) : x[xi]
    }
}
