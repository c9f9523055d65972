import NSASKernels

extension BLASBackend {
    /// Image by image: each half's strided pixels gathered from x in place (the shifted half from
    /// row and column 1: no cropped copy), its product written straight into the half's channels of
    /// y (no concatenation).
    public func factorizedReduceForward(_ g: ConvGeometry, c2: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                        w1: UnsafePointer<Float>, w2: UnsafePointer<Float>) {
        let ohw = g.outH * g.outW, c1 = g.cOut
        Parallel.forRanges(g.n, costPerItem: 2 * Int(g.flops) / g.n) { images in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: g.cIn * ohw)
            defer { col.deallocate() }
            for img in images {
                for (w, c, at, first) in [(w1, c1, 0, 0), (w2, c2, 1, c1)] {
                    gather(g, col: col, x: x + img * g.cIn * g.h * g.w, at: at)
                    Self.product(y + (img * (c1 + c2) + first) * ohw, a: w, aRowStride: g.cIn, aColStride: 1, b: col,
                                 m: c, k: g.cIn, n: ohw, accumulate: false)
                }
            }
        }
    }

    /// Image by image, each half's gradients from its channels of dy in place: the input gradient
    /// scattered into dx at the half's pixels (masked by x > 0 with the ReLU), the weight gradient
    /// from the gathered pixels, per chunk of images as conv2dBackwardWeight does.
    public func factorizedReduceBackward(_ g: ConvGeometry, c2: Int, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                                         dw1: UnsafeMutablePointer<Float>?, dw2: UnsafeMutablePointer<Float>?,
                                         dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w1: UnsafePointer<Float>, w2: UnsafePointer<Float>) {
        let ohw = g.outH * g.outW, c1 = g.cOut, hw = g.h * g.w
        // both weights' gradients as one (c1 + c2, cIn) matrix
        let both = ConvGeometry(n: g.n, cIn: g.cIn, h: g.h, w: g.w, cOut: c1 + c2, kH: 1, kW: 1, stride: g.strideH, reluInput: g.reluInput)
        let dw = UnsafeMutablePointer<Float>.allocate(capacity: both.weightCount)
        dw.initialize(repeating: 0, count: both.weightCount)
        defer { dw.deallocate() }
        weightGradientInChunks(both, dw: dw) { acc, images in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: g.cIn * ohw)
            defer { col.deallocate() }
            for img in images {
                let xi = x + img * g.cIn * hw, mask = g.reluInput ? xi : nil
                for (w, c, at, first, wanted) in [(w1, c1, 0, 0, dw1 != nil), (w2, c2, 1, c1, dw2 != nil)] {
                    let dyh = dy + (img * (c1 + c2) + first) * ohw
                    if let dx {
                        Self.product(col, a: w, aRowStride: 1, aColStride: g.cIn, b: dyh, m: g.cIn, k: c, n: ohw, accumulate: false)
                        // not accumulating, the two halves write every element of the image's dx between them
                        if accumulate {
                            nsas_scatter_strided_add(dx + img * g.cIn * hw, col, Int32(g.cIn), Int32(g.h), Int32(g.w), Int32(g.outH),
                                                     Int32(g.outW), Int32(g.strideH), Int32(g.strideW), Int32(at), mask)
                        } else {
                            nsas_scatter_stride2_write(dx + img * g.cIn * hw, col, Int32(g.cIn), Int32(g.h), Int32(g.w), Int32(at), mask)
                        }
                    }
                    if wanted {
                        gather(g, col: col, x: xi, at: at)
                        Self.sgemm(false, true, c, g.cIn, ohw, 1, dyh, ohw, col, ohw, 1, acc + first * g.cIn, g.cIn)
                    }
                }
            }
        }
        if let dw1 { for i in 0..<c1 * g.cIn { dw1[i] += dw[i] } }
        if let dw2 { for i in 0..<c2 * g.cIn { dw2[i] += dw[c1 * g.cIn + i] } }
    }

    /// The (cIn, OH, OW) strided pixels of one image from row and column `at`, relu'd with the geometry's ReLU.
    private func gather(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, at: Int) {
        nsas_gather_strided(col, x, Int32(g.cIn), Int32(g.h), Int32(g.w), Int32(g.outH), Int32(g.outW),
                            Int32(g.strideH), Int32(g.strideW), Int32(at), g.reluInput ? 1 : 0)
    }
}
