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

    /// depthwisePointwiseForward's gradients image by image where it ran so and all three are
    /// wanted (`imageByImageBackward`); other shapes run the two backward passes one after the other.
    public func depthwisePointwiseBackward(_ a: DepthwisePointwiseGradients) {
        guard imageByImage(a) else { return depthwisePointwiseBackwardApart(a) }
        imageByImageBackward(a) { first, _, _ in a.dy + first * a.gp.cOut * a.gp.outH * a.gp.outW }
    }

    /// The same after batch norm in place: the batch norm's per-channel sums over the batch first
    /// (the one pass its input gradient needs before any of it is known), then image by image, the
    /// 1x1 output's gradient of a few images at a time written into cache and read from there,
    /// instead of written for the batch and read back. dconv and dmid stay unused.
    public func depthwisePointwiseBatchNormBackward(_ a: DepthwisePointwiseGradients, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                                    dconv: UnsafeMutablePointer<Float>) {
        guard imageByImage(a) else { return depthwisePointwiseBatchNormBackwardApart(a, xhat: xhat, invStd: invStd, dconv: dconv) }
        let c = a.gp.cOut, s = a.gp.outH * a.gp.outW
        let coef = inPlaceNormGradientCoefficients(n: a.gp.n, c: c, s: s, dy: a.dy, xhat: xhat, invStd: invStd)
        defer { coef.deallocate() }
        imageByImageBackward(a) { first, count, buffer in
            inPlaceNormGradient(c: c, s: s, into: buffer, planes: first * c..<(first + count) * c, dy: a.dy, xhat: xhat, coef: coef)
            return UnsafePointer(buffer)
        }
    }

    /// What `imageByImageBackward` takes: every gradient wanted, a direct depthwise convolution,
    /// then a thin 1x1 one.
    private func imageByImage(_ a: DepthwisePointwiseGradients) -> Bool {
        let (gd, gp) = (a.gd, a.gp)
        return a.dx != nil && a.dwd != nil && a.dwp != nil && isDirectDepthwise(gd) && isPointwise(gp) && gp.groups == 1
            && !gp.reluInput && Self.thin(gp.cIn, gp.h * gp.w) && gp.cOut % 4 == 0
    }

    /// For a few images at a time (their part of mid's gradient at most about 128 KB, so it stays
    /// in cache): the 1x1 convolution's two gradients (nsas_conv1x1_backward_part: its weight
    /// gradient sums in the same order as over the whole chunk at once), then the depthwise input
    /// gradient and weight gradient reading that part of mid's gradient back from cache, instead
    /// of writing it for the whole batch and reading it twice. `dyOf(first, count, buffer)` gives
    /// the 1x1 output's gradient of images first..<first + count (`buffer` holds count images of
    /// it, for a caller computing it). Each chunk of images adds its weight gradients into its own
    /// buffers (`gradientsInChunks`: thread timing cannot change the result).
    private func imageByImageBackward(_ a: DepthwisePointwiseGradients,
                                      dyOf: (Int, Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>) {
        let (gd, gp, mid, x, wd, wp, accumulate) = (a.gd, a.gp, a.mid, a.x, a.wd, a.wp, a.accumulate)
        guard let dx = a.dx, let dwd = a.dwd, let dwp = a.dwp else { return }
        let c = gd.cIn, ohw = gp.h * gp.w, hw = gd.h * gd.w, kk = gd.kH * gd.kW
        let perImage = c * ohw, part = max(1, (32 * 1024) / max(perImage, gp.cOut * ohw))
        let wide = nsas_conv1x1_wide()
        let cost = (gd.multiplyAdds + gp.multiplyAdds) / gd.n * 2
        gradientsInChunks(gd.n, costPerItem: cost, into: [(dwp, gp.weightCount), (dwd, gd.weightCount)]) { accP, images in
            let accD = accP + gp.weightCount
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: gp.cOut * gp.cIn * 16)
            let g = UnsafeMutablePointer<Float>.allocate(capacity: part * perImage)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: part * gp.cOut * ohw)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nsas_dw_scratch(Int32(gd.h), Int32(gd.w), Int32(gd.kH),
                                                                                           Int32(gd.padH), Int32(gd.dilationH)))
            defer { sums.deallocate(); g.deallocate(); buffer.deallocate(); scratch.deallocate() }
            for first in stride(from: images.lowerBound, to: images.upperBound, by: part) {
                let count = min(part, images.upperBound - first)
                nsas_conv1x1_backward_part(g, accP, sums, dyOf(first, count, buffer), wp, mid + first * perImage,
                                           Int32(gp.cOut), Int32(gp.cIn), ohw, Int32(count), 0, 0, wide,
                                           first == images.lowerBound ? 1 : 0, first + count == images.upperBound ? 1 : 0)
                let dxPart = dx + first * c * hw, xPart = x + first * c * hw
                nsas_dw_backward_data_planes(dxPart, g, wd, scratch, 0, Int32(count * c), Int32(c), Int32(gd.h), Int32(gd.w),
                                             Int32(gd.outH), Int32(gd.outW), Int32(gd.kH), Int32(gd.strideH), Int32(gd.padH),
                                             Int32(gd.dilationH), gd.reluInput ? xPart : nil, accumulate ? 1 : 0)
                for ch in 0..<c {
                    nsas_dw_backward_weight_planes_add(accD + ch * kk, xPart + ch * hw, g + ch * ohw, scratch, Int32(count),
                                                       c * hw, perImage, Int32(gd.h), Int32(gd.w), Int32(gd.outH), Int32(gd.outW),
                                                       Int32(gd.kH), Int32(gd.strideH), Int32(gd.padH), Int32(gd.dilationH),
                                                       gd.reluInput ? 1 : 0)
                }
            }
        }
    }
}
