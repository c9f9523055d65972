extension ConvGeometry {
    /// FactorizedReduce's second convolution: the first's (`self`, stride 2 on an even plane) on
    /// the input cropped by its first row and column, with c2 outputs; the same output size.
    func shiftedHalf(c2: Int) -> ConvGeometry {
        ConvGeometry(n: n, cIn: cIn, h: h - 1, w: w - 1, cOut: c2, kH: 1, kW: 1, stride: strideH, reluInput: reluInput)
    }
}

extension Backend {
    /// The definition: the cropped copy of x, the two convolutions, their outputs copied into y.
    public func factorizedReduceForward(_ g: ConvGeometry, c2: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                        w1: UnsafePointer<Float>, w2: UnsafePointer<Float>) {
        let g2 = g.shiftedHalf(c2: c2), ohw = g.outH * g.outW, c1 = g.cOut
        let crop = cropped(g, x)
        let y1 = UnsafeMutablePointer<Float>.allocate(capacity: g.n * c1 * ohw), y2 = UnsafeMutablePointer<Float>.allocate(capacity: g.n * c2 * ohw)
        defer { crop.deallocate(); y1.deallocate(); y2.deallocate() }
        conv2dForward(g, y: y1, x: x, w: w1)
        conv2dForward(g2, y: y2, x: crop, w: w2)
        for i in 0..<g.n {
            copy(count: c1 * ohw, x: y1 + i * c1 * ohw, y: y + i * (c1 + c2) * ohw)
            copy(count: c2 * ohw, x: y2 + i * c2 * ohw, y: y + (i * (c1 + c2) + c1) * ohw)
        }
    }

    /// The definition: dy split into the two halves, each convolution's gradients, the shifted
    /// half's input gradient added back at its offset.
    public func factorizedReduceBackward(_ g: ConvGeometry, c2: Int, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                                         dw1: UnsafeMutablePointer<Float>?, dw2: UnsafeMutablePointer<Float>?,
                                         dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w1: UnsafePointer<Float>, w2: UnsafePointer<Float>) {
        let g2 = g.shiftedHalf(c2: c2), ohw = g.outH * g.outW, c1 = g.cOut
        let crop = cropped(g, x)
        let dy1 = UnsafeMutablePointer<Float>.allocate(capacity: g.n * c1 * ohw), dy2 = UnsafeMutablePointer<Float>.allocate(capacity: g.n * c2 * ohw)
        let dcrop = UnsafeMutablePointer<Float>.allocate(capacity: g.n * g.cIn * g2.h * g2.w)
        defer { crop.deallocate(); dy1.deallocate(); dy2.deallocate(); dcrop.deallocate() }
        for i in 0..<g.n {
            copy(count: c1 * ohw, x: dy + i * (c1 + c2) * ohw, y: dy1 + i * c1 * ohw)
            copy(count: c2 * ohw, x: dy + (i * (c1 + c2) + c1) * ohw, y: dy2 + i * c2 * ohw)
        }
        conv2dBackward(g, dx: dx, accumulate: accumulate, dw: dw1, dy: dy1, w: w1, x: x)
        conv2dBackward(g2, dx: dx == nil ? nil : dcrop, accumulate: false, dw: dw2, dy: dy2, w: w2, x: crop)
        if let dx {
            for p in 0..<g.n * g.cIn {
                copyBlock(rows: g2.h, cols: g2.w, x: dcrop + p * g2.h * g2.w, xStride: g2.w,
                          y: dx + (p * g.h + 1) * g.w + 1, yStride: g.w, accumulate: true)
            }
        }
    }

    /// x without its first row and column, (N, C, H-1, W-1).
    private func cropped(_ g: ConvGeometry, _ x: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let c = UnsafeMutablePointer<Float>.allocate(capacity: g.n * g.cIn * (g.h - 1) * (g.w - 1))
        for p in 0..<g.n * g.cIn {
            copyBlock(rows: g.h - 1, cols: g.w - 1, x: x + (p * g.h + 1) * g.w + 1, xStride: g.w,
                      y: c + p * (g.h - 1) * (g.w - 1), yStride: g.w - 1, accumulate: false)
        }
        return c
    }
}
