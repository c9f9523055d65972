import NSASKernels

extension BLASBackend {
    // x is (N,Cin,H,W), w is (Cout,Cin/groups,KH,KW), y is (N,Cout,OH,OW).
    // Dense and grouped convolutions: im2col per image and group, then sgemm; 1x1 stride-1
    // convolutions without padding skip im2col. Images are split across workers.
    // Depthwise convolutions (groups == Cin == Cout) run as direct loops over channels.

    /// Depthwise with the same kernel size (at most 7x7), stride, padding and dilation on both axes.
    @inline(__always)
    func isDirectDepthwise(_ g: ConvGeometry) -> Bool {
        g.isDepthwise && g.kH == g.kW && g.kH <= 7 && g.strideH == g.strideW && g.padH == g.padW && g.dilationH == g.dilationW
    }

    @inline(__always)
    func isPointwise(_ g: ConvGeometry) -> Bool {
        g.kH == 1 && g.kW == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0
    }

    /// A 1x1 convolution with a stride and no padding (FactorizedReduce): its im2col is a strided copy.
    @inline(__always)
    private func isStridedPointwise(_ g: ConvGeometry) -> Bool {
        g.kH == 1 && g.kW == 1 && g.padH == 0 && g.padW == 0 && (g.strideH > 1 || g.strideW > 1)
    }

    /// c (m,n) = [c +] a (m,k) * b (k,n) on one thread, a's element (i,q) at a[i*aRowStride + q*aColStride].
    /// Thin products (16-row multiples, as DARTS channel counts are) run the register-blocked C kernel,
    /// which skips OpenBLAS's packing; the rest run sgemm (also where the kernel could take them:
    /// C = 36 products ran 0.8x sgemm's rate, and planes of 14x14 and 7x7 with a column tail or
    /// 8-row FactorizedReduce halves were no faster at 28x28).
    @inline(__always)
    static func product(_ c: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
                        b: UnsafePointer<Float>, m: Int, k: Int, n: Int, accumulate: Bool) {
        if thin(m, n) {
            nsas_gemm_rows16(c, a, aRowStride, aColStride, b, Int32(m), Int32(k), n, accumulate ? 1 : 0, 0)
        } else {
            let transA = aRowStride == 1 && aColStride != 1
            sgemm(transA, false, m, n, k, 1, a, transA ? aColStride : aRowStride, b, n, accumulate ? 1 : 0, c, n)
        }
    }

    /// Products the thin-product kernel takes.
    @inline(__always)
    static func thin(_ m: Int, _ n: Int) -> Bool { m % 16 == 0 && n % 16 == 0 }

    /// col (Cin/groups*KH*KW, OH*OW) for one image and group; out-of-image taps are zero.
    private func im2col(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        nsas_im2col(col, x, Int32(g.cInPerGroup), Int32(g.h), Int32(g.w), Int32(g.kH), Int32(g.kW), Int32(g.strideH), Int32(g.strideW),
                    Int32(g.padH), Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW), Int32(g.outH), Int32(g.outW), g.reluInput ? 1 : 0)
    }

    /// dx (one image and group) += col2im(col), where x > 0 with `g.reluInput`.
    private func col2imAdd(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>, col: UnsafePointer<Float>,
                           x: UnsafePointer<Float>) {
        nsas_col2im_add(dx, col, x, Int32(g.cInPerGroup), Int32(g.h), Int32(g.w), Int32(g.kH), Int32(g.kW), Int32(g.strideH), Int32(g.strideW),
                        Int32(g.padH), Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW), Int32(g.outH), Int32(g.outW), g.reluInput ? 1 : 0)
    }

    /// The (kk, ohw) matrix a product reads for one image and group: x itself for a plain 1x1
    /// convolution, relu(x) copied into col, or im2col into col.
    @inline(__always)
    private func source(_ g: ConvGeometry, _ xg: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if isStridedPointwise(g) {
            nsas_gather_strided(col, xg, Int32(g.cInPerGroup), Int32(g.h), Int32(g.w), Int32(g.outH), Int32(g.outW),
                                Int32(g.strideH), Int32(g.strideW), 0, g.reluInput ? 1 : 0)
            return UnsafePointer(col)
        }
        if !isPointwise(g) { im2col(g, col: col, x: xg); return UnsafePointer(col) }
        if g.reluInput { nsas_relu(col, xg, g.cInPerGroup * g.h * g.w); return UnsafePointer(col) }
        return xg
    }

    /// Whether a product needs the col scratch buffer.
    @inline(__always)
    private func needsCol(_ g: ConvGeometry) -> Bool { !isPointwise(g) || g.reluInput }

    public func conv2dForward(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>,
                              x: UnsafePointer<Float>, w: UnsafePointer<Float>) {
        forward(g, y: y, x: x, w: w, scale: nil, shift: nil)
    }

    /// Convolution and evaluation-mode batch norm in one pass: a thin 1x1 product applies
    /// scale/shift in its epilogue, other products right after each image's output is written
    /// (while it is in cache); depthwise convolutions then one affine pass.
    public func conv2dForwardAffine(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
        forward(g, y: y, x: x, w: w, scale: scale, shift: shift)
    }

    private func forward(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) {
        if isDirectDepthwise(g) {
            depthwiseForward(g, y: y, x: x, w: w)
            if let scale, let shift {
                let ohw = g.outH * g.outW
                Parallel.forRanges(g.n * g.cOut, costPerItem: ohw) { planes in
                    for p in planes { nsas_affine(y + p * ohw, y + p * ohw, scale[p % g.cOut], shift[p % g.cOut], ohw) }
                }
            }
            return
        }
        let ohw = g.outH * g.outW, kk = g.cInPerGroup * g.kH * g.kW, cog = g.cOutPerGroup
        Parallel.forRanges(g.n, costPerItem: Int(g.flops) / g.n) { images in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: needsCol(g) ? kk * ohw : 1)
            defer { col.deallocate() }
            for img in images {
                for grp in 0..<g.groups {
                    let xg = x + (img * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                    let yg = y + (img * g.cOut + grp * cog) * ohw
                    let sg = scale.map { $0 + grp * cog }, hg = shift.map { $0 + grp * cog }
                    // y_g (cog, ohw) = w_g (cog, kk) * src (kk, ohw); the thin-product kernel applies a fused
                    // ReLU of a 1x1 convolution's input as it loads it, and the affine map as it stores.
                    if isPointwise(g) && Self.thin(cog, ohw) {
                        nsas_gemm_rows16_affine(yg, w + grp * cog * kk, kk, 1, xg, Int32(cog), Int32(kk), ohw, 0, g.reluInput ? 1 : 0, sg, hg)
                        continue
                    }
                    let src = source(g, xg, col: col)
                    Self.product(yg, a: w + grp * cog * kk, aRowStride: kk, aColStride: 1, b: src,
                                 m: cog, k: kk, n: ohw, accumulate: false)
                    if let sg, let hg { for c in 0..<cog { nsas_affine(yg + c * ohw, yg + c * ohw, sg[c], hg[c], ohw) } }
                }
            }
        }
    }

    public func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                                   dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        conv2dBackwardData(g, dx: dx, dy: dy, w: w, x: x, accumulate: true)
    }

    /// Not accumulating, the 1x1 kernels write dx directly; the other paths clear each image's
    /// (or each few planes') part of dx just before adding into it, while it is in cache.
    public func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                                   dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, accumulate: Bool) {
        if isDirectDepthwise(g) { return depthwiseBackwardData(g, dx: dx, dy: dy, w: w, x: x, accumulate: accumulate) }
        let ohw = g.outH * g.outW, kk = g.cInPerGroup * g.kH * g.kW, cog = g.cOutPerGroup
        let pointwise = isPointwise(g)
        Parallel.forRanges(g.n, costPerItem: Int(g.flops) / g.n) { images in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: needsCol(g) ? kk * ohw : 1)
            defer { col.deallocate() }
            for img in images {
                for grp in 0..<g.groups {
                    let offset = (img * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                    let dxg = dx + offset, xg = x + offset
                    let dyg = dy + (img * g.cOut + grp * cog) * ohw
                    let wg = w + grp * cog * kk
                    // (kk, ohw) = w_g^T (kk, cog) * dy_g (cog, ohw), added to dx_g (masked by x > 0 after
                    // a fused ReLU) directly or through col2im.
                    if pointwise && !g.reluInput {
                        Self.product(dxg, a: wg, aRowStride: 1, aColStride: kk, b: dyg, m: kk, k: cog, n: ohw, accumulate: accumulate)
                    } else if pointwise && Self.thin(kk, ohw) {
                        // the ReLU's mask applied as the thin-product kernel stores, no intermediate buffer
                        nsas_gemm_rows16_mask(dxg, wg, 1, kk, dyg, Int32(kk), Int32(cog), ohw, xg, accumulate ? 1 : 0)
                    } else {
                        if !accumulate { dxg.update(repeating: 0, count: g.cInPerGroup * g.h * g.w) }
                        Self.product(col, a: wg, aRowStride: 1, aColStride: kk, b: dyg, m: kk, k: cog, n: ohw, accumulate: false)
                        if pointwise { nsas_relu_backward_add(dxg, col, xg, kk * ohw) }
                        else if isStridedPointwise(g) {
                            nsas_scatter_strided_add(dxg, col, Int32(kk), Int32(g.h), Int32(g.w), Int32(g.outH), Int32(g.outW),
                                                     Int32(g.strideH), Int32(g.strideW), 0, g.reluInput ? xg : nil)
                        } else { col2imAdd(g, dx: dxg, col: col, x: xg) }
                    }
                }
            }
        }
    }

    /// A thin 1x1 convolution with both gradients wanted: one pass over the images, the weight
    /// gradient reading each image's dy and x right after the input gradient (nsas_conv1x1_backward);
    /// the same sums in the same order as the two kernels apart. Other convolutions run the two.
    public func conv2dBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                               dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        let ohw = g.outH * g.outW
        guard let dx, let dw, isPointwise(g), g.groups == 1, Self.thin(g.cIn, ohw), g.cOut % 4 == 0 else {
            if let dx { conv2dBackwardData(g, dx: dx, dy: dy, w: w, x: x, accumulate: accumulate) }
            if let dw { conv2dBackwardWeight(g, dw: dw, x: x, dy: dy) }
            return
        }
        weightGradientInChunks(g, dw: dw) { acc, images in
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: g.cOut * g.cIn * 16)
            defer { sums.deallocate() }
            let first = images.lowerBound
            nsas_conv1x1_backward(dx + first * g.cIn * ohw, acc, sums, dy + first * g.cOut * ohw, w, x + first * g.cIn * ohw,
                                  Int32(g.cOut), Int32(g.cIn), ohw, Int32(images.count), g.reluInput ? 1 : 0, accumulate ? 1 : 0)
        }
    }

    /// Runs `body` on chunks of images, each adding into its own zeroed weight-sized buffer; the
    /// buffers are then summed into dw in chunk order, so the result does not depend on thread timing.
    func weightGradientInChunks(_ g: ConvGeometry, dw: UnsafeMutablePointer<Float>,
                                        _ body: (UnsafeMutablePointer<Float>, Range<Int>) -> Void) {
        gradientsInChunks(g.n, costPerItem: Int(g.flops) / g.n, into: [(dw, g.weightCount)], body)
    }

    /// The same for several gradients: each chunk's buffer holds one part per target, end to end,
    /// added into the targets in chunk order (per chunk, the targets in order).
    func gradientsInChunks(_ n: Int, costPerItem cost: Int, into targets: [(UnsafeMutablePointer<Float>, Int)],
                           _ body: (UnsafeMutablePointer<Float>, Range<Int>) -> Void) {
        let chunks = Parallel.chunks(n, costPerItem: cost), size = targets.reduce(0) { $0 + $1.1 }
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * size)
        partial.update(repeating: 0, count: chunks * size)
        defer { partial.deallocate() }
        Parallel.forChunks(n, costPerItem: cost) { chunk, images in body(partial + chunk * size, images) }
        for c in 0..<chunks {
            var at = partial + c * size
            for (dw, count) in targets {
                for i in 0..<count { dw[i] += at[i] }
                at += count
            }
        }
    }

    public func conv2dBackwardWeight(_ g: ConvGeometry, dw: UnsafeMutablePointer<Float>,
                                     x: UnsafePointer<Float>, dy: UnsafePointer<Float>) {
        if isDirectDepthwise(g) { return depthwiseBackwardWeight(g, dw: dw, x: x, dy: dy) }
        let ohw = g.outH * g.outW, kk = g.cInPerGroup * g.kH * g.kW, cog = g.cOutPerGroup
        weightGradientInChunks(g, dw: dw) { acc, images in
            // A 1x1 convolution with thin sizes: dw_g += sum over the images of dy_g x_g^T in one
            // register-blocked pass (relu applied to x as it is read), no per-image sgemm.
            if isPointwise(g) && cog % 4 == 0 && kk % 4 == 0 && ohw % 16 == 0 {
                let sums = UnsafeMutablePointer<Float>.allocate(capacity: cog * kk * 16)
                defer { sums.deallocate() }
                for grp in 0..<g.groups {
                    let x0 = x + (images.lowerBound * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                    let dy0 = dy + (images.lowerBound * g.cOut + grp * cog) * ohw
                    nsas_gemm_nt_batched_add(acc + grp * cog * kk, sums, dy0, g.cOut * ohw, x0, g.cIn * g.h * g.w,
                                             Int32(cog), Int32(kk), ohw, Int32(images.count), g.reluInput ? 1 : 0)
                }
                return
            }
            let col = UnsafeMutablePointer<Float>.allocate(capacity: needsCol(g) ? kk * ohw : 1)
            defer { col.deallocate() }
            for img in images {
                for grp in 0..<g.groups {
                    let xg = x + (img * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                    let dyg = dy + (img * g.cOut + grp * cog) * ohw
                    let src = source(g, xg, col: col)
                    Self.sgemm(false, true, cog, kk, ohw, 1, dyg, ohw, src, ohw, 1, acc + grp * cog * kk, kk)
                }
            }
        }
    }

    // MARK: depthwise (square kernels, as in the DARTS spaces; others take the grouped-gemm path)

    private func depthwiseScratch(_ g: ConvGeometry) -> UnsafeMutablePointer<Float> {
        .allocate(capacity: nsas_dw_scratch(Int32(g.h), Int32(g.w), Int32(g.kH), Int32(g.padH), Int32(g.dilationH)))
    }

    private func depthwiseForward(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>,
                                  x: UnsafePointer<Float>, w: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW, kk = g.kH * g.kW
        Parallel.forRanges(g.n * g.cIn, costPerItem: oh * ow * kk) { planes in
            let scratch = depthwiseScratch(g)
            defer { scratch.deallocate() }
            nsas_dw_forward_planes(y, x, w, scratch, planes.lowerBound, Int32(planes.count), Int32(g.cIn), Int32(g.h), Int32(g.w),
                                   Int32(oh), Int32(ow), Int32(g.kH), Int32(g.strideH), Int32(g.padH), Int32(g.dilationH),
                                   g.reluInput ? 1 : 0)
        }
    }

    private func depthwiseBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                                       dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, accumulate: Bool) {
        let oh = g.outH, ow = g.outW, kk = g.kH * g.kW
        Parallel.forRanges(g.n * g.cIn, costPerItem: oh * ow * kk) { planes in
            let scratch = depthwiseScratch(g)
            defer { scratch.deallocate() }
            nsas_dw_backward_data_planes(dx, dy, w, scratch, planes.lowerBound, Int32(planes.count), Int32(g.cIn),
                                         Int32(g.h), Int32(g.w), Int32(oh), Int32(ow), Int32(g.kH), Int32(g.strideH),
                                         Int32(g.padH), Int32(g.dilationH), g.reluInput ? x : nil, accumulate ? 1 : 0)
        }
    }

    private func depthwiseBackwardWeight(_ g: ConvGeometry, dw: UnsafeMutablePointer<Float>,
                                         x: UnsafePointer<Float>, dy: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW, kk = g.kH * g.kW
        // Split over channels so that each dw entry has one writer.
        Parallel.forRanges(g.cIn, costPerItem: g.n * oh * ow * kk) { channels in
            let scratch = depthwiseScratch(g)
            defer { scratch.deallocate() }
            for c in channels {
                nsas_dw_backward_weight_planes_add(dw + c * kk, x + c * g.h * g.w, dy + c * oh * ow, scratch, Int32(g.n),
                                                   g.cIn * g.h * g.w, g.cIn * oh * ow, Int32(g.h), Int32(g.w),
                                                   Int32(oh), Int32(ow), Int32(g.kH), Int32(g.strideH), Int32(g.padH), Int32(g.dilationH),
                                                   g.reluInput ? 1 : 0)
            }
        }
    }
}

import Foundation
