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
                let p = planes.lowerBound, count = Int32(planes.count)
                let (dxp, dyp, xp) = (dx + p * g.h * g.w, dy + p * oh * ow, x + p * g.h * g.w)
                let (h, w, o1, o2, s) = (Int32(g.h), Int32(g.w), Int32(oh), Int32(ow), Int32(g.stride))
                if g.kind == .max { nsas_pool3_max_backward_add(dxp, dyp, xp, scratch, count, h, w, o1, o2, s) }
                else { nsas_pool3_avg_backward_add(dxp, dyp, scratch, count, h, w, o1, o2, s) }
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
}
