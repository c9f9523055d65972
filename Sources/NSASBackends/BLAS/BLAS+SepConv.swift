import NSASKernels

extension BLASBackend {
    /// A direct depthwise convolution followed by a 1x1 one, image by image: each image's
    /// depthwise output is read by the 1x1 product while it is in cache (written to `mid` as well
    /// when the gradients need it, else into one image-sized buffer per worker). The same kernels
    /// and sums as the two convolutions one after the other (the thin-product kernel, else sgemm
    /// with the affine map right after). Other shapes run the two.
    public func depthwisePointwiseForward(_ gd: ConvGeometry, _ gp: ConvGeometry, y: UnsafeMutablePointer<Float>,
                                          mid: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, wd: UnsafePointer<Float>,
                                          wp: UnsafePointer<Float>, scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) {
        let c = gd.cIn, ohw = gp.h * gp.w
        guard isDirectDepthwise(gd), isPointwise(gp), gp.groups == 1, !gp.reluInput else {
            return depthwisePointwiseApart(gd, gp, y: y, mid: mid, x: x, wd: wd, wp: wp, scale: scale, shift: shift)
        }
        let hw = gd.h * gd.w
        Parallel.forRanges(gd.n, costPerItem: (gd.multiplyAdds + gp.multiplyAdds) / gd.n) { images in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nsas_dw_scratch(Int32(gd.h), Int32(gd.w), Int32(gd.kH),
                                                                                           Int32(gd.padH), Int32(gd.dilationH)))
            let own = mid == nil ? UnsafeMutablePointer<Float>.allocate(capacity: c * ohw) : nil
            defer { scratch.deallocate(); own?.deallocate() }
            for img in images {
                let t = own ?? mid! + img * c * ohw
                nsas_dw_forward_planes(t, x + img * c * hw, wd, scratch, 0, Int32(c), Int32(c), Int32(gd.h), Int32(gd.w),
                                       Int32(gd.outH), Int32(gd.outW), Int32(gd.kH), Int32(gd.strideH), Int32(gd.padH),
                                       Int32(gd.dilationH), gd.reluInput ? 1 : 0)
                let yi = y + img * gp.cOut * ohw
                if Self.thin(gp.cOut, ohw) {
                    nsas_gemm_rows16_affine(yi, wp, c, 1, t, Int32(gp.cOut), Int32(c), ohw, 0, 0, scale, shift)
                } else {
                    Self.product(yi, a: wp, aRowStride: c, aColStride: 1, b: t, m: gp.cOut, k: c, n: ohw, accumulate: false)
                    if let scale, let shift { for o in 0..<gp.cOut { nsas_affine(yi + o * ohw, yi + o * ohw, scale[o], shift[o], ohw) } }
                }
            }
        }
    }
}
