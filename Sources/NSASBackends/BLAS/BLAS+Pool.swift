import NSASKernels

extension BLASBackend {
    // x is (N,C,H,W), y is (N,C,OH,OW); planes are split across workers.
    // 3x3 windows with padding 1 (every DARTS pool) run the C kernels, a worker's planes in one call; other windows
    // run the loops below, whose bounds are clamped once per output.

    public func pool2dForward(_ g: PoolGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW
        if g.k == 3 && g.pad == 1 {
            Parallel.forRanges(g.n * g.c, costPerItem: oh * ow * 4) { planes in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nsas_pool3_scratch(Int32(g.h), Int32(g.w)))
                defer { scratch.deallocate() }
                let (yp, xp, count) = (y + planes.lowerBound * oh * ow, x + planes.lowerBound * g.h * g.w, Int32(planes.count))
                let (h, w, o1, o2, s) = (Int32(g.h), Int32(g.w), Int32(oh), Int32(ow), Int32(g.stride))
                if g.kind == .max { nsas_pool3_max_forward(yp, xp, scratch, count, h, w, o1, o2, s) }
                else { nsas_pool3_avg_forward(yp, xp, scratch, count, h, w, o1, o2, s) }
            }
            return
        }
        Parallel.forRanges(g.n * g.c, costPerItem: oh * ow * g.k * g.k) { planes in
            for p in planes {
                let xp = x + p * g.h * g.w, yp = y + p * oh * ow
                for oy in 0..<oh {
                    let y0 = max(0, oy * g.stride - g.pad), y1 = min(g.h, oy * g.stride - g.pad + g.k)
                    for ox in 0..<ow {
                        let x0 = max(0, ox * g.stride - g.pad), x1 = min(g.w, ox * g.stride - g.pad + g.k)
                        if g.kind == .max {
                            var m = -Float.infinity
                            for iy in y0..<y1 { let r = xp + iy * g.w; for ix in x0..<x1 { m = max(m, r[ix]) } }
                            yp[oy * ow + ox] = m
                        } else {
                            var sum: Float = 0
                            for iy in y0..<y1 { let r = xp + iy * g.w; for ix in x0..<x1 { sum += r[ix] } }
                            yp[oy * ow + ox] = sum / Float((y1 - y0) * (x1 - x0))
                        }
                    }
                }
            }
        }
    }

    public func pool2dBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>,
                               dy: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW
        if g.k == 3 && g.pad == 1 {
            Parallel.forRanges(g.n * g.c, costPerItem: oh * ow * 9) { planes in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nsas_pool3_scratch(Int32(g.h), Int32(g.w)))
                defer { scratch.deallocate() }
                pool3BackwardAdd(g, dx: dx, dy: dy + planes.lowerBound * oh * ow, x: x, planes: planes, scratch: scratch)
            }
            return
        }
        Parallel.forRanges(g.n * g.c, costPerItem: oh * ow * g.k * g.k) { planes in
            for p in planes {
                let xp = x + p * g.h * g.w, dxp = dx + p * g.h * g.w, dyp = dy + p * oh * ow
                for oy in 0..<oh {
                    let y0 = max(0, oy * g.stride - g.pad), y1 = min(g.h, oy * g.stride - g.pad + g.k)
                    for ox in 0..<ow {
                        let x0 = max(0, ox * g.stride - g.pad), x1 = min(g.w, ox * g.stride - g.pad + g.k)
                        let d = dyp[oy * ow + ox]
                        if g.kind == .max {
                            // The first maximal tap in row-major order, as the reference does.
                            var best = y0 * g.w + x0, m = xp[best]
                            for iy in y0..<y1 {
                                for ix in x0..<x1 where xp[iy * g.w + ix] > m { m = xp[iy * g.w + ix]; best = iy * g.w + ix }
                            }
                            dxp[best] += d
                        } else {
                            let share = d / Float((y1 - y0) * (x1 - x0))
                            for iy in y0..<y1 { let r = dxp + iy * g.w; for ix in x0..<x1 { r[ix] += share } }
                        }
                    }
                }
            }
        }
    }

    /// The 3x3 (padding 1) kernels' dx += for `planes`, dy pointing at the first plane's gradient.
    private func pool3BackwardAdd(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                  planes: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        let p = planes.lowerBound, count = Int32(planes.count)
        let (dxp, xp) = (dx + p * g.h * g.w, x + p * g.h * g.w)
        let (h, w, o1, o2, s) = (Int32(g.h), Int32(g.w), Int32(g.outH), Int32(g.outW), Int32(g.stride))
        if g.kind == .max { nsas_pool3_max_backward_add(dxp, dy, xp, scratch, count, h, w, o1, o2, s) }
        else { nsas_pool3_avg_backward_add(dxp, dy, scratch, count, h, w, o1, o2, s) }
    }

    /// A 3x3 pool's gradient after batch norm in place: batch norm's per-channel sums over the
    /// batch, then per worker 16 planes at a time, the pool output's gradient computed into cache
    /// and the pool's gradient read from there, instead of written for the batch and read back.
    /// dpool stays unused. Other pools run the two passes apart.
    public func poolBatchNormBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                      xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>, dpool: UnsafeMutablePointer<Float>,
                                      x: UnsafePointer<Float>) {
        guard g.k == 3 && g.pad == 1 else {
            return poolBatchNormBackwardApart(g, dx: dx, dy: dy, xhat: xhat, invStd: invStd, dpool: dpool, x: x)
        }
        let s = g.outH * g.outW
        let coef = inPlaceNormGradientCoefficients(n: g.n, c: g.c, s: s, dy: dy, xhat: xhat, invStd: invStd)
        defer { coef.deallocate() }
        Parallel.forRanges(g.n * g.c, costPerItem: s * 9) { planes in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nsas_pool3_scratch(Int32(g.h), Int32(g.w)))
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 16 * s)
            defer { scratch.deallocate(); buffer.deallocate() }
            for first in stride(from: planes.lowerBound, to: planes.upperBound, by: 16) {
                let part = first..<min(first + 16, planes.upperBound)
                inPlaceNormGradient(c: g.c, s: s, into: buffer, planes: part, dy: dy, xhat: xhat, coef: coef)
                pool3BackwardAdd(g, dx: dx, dy: buffer, x: x, planes: part, scratch: scratch)
            }
        }
    }
}
