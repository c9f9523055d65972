extension BLASBackend {
    // x is (N,C,H,W), y is (N,C,OH,OW); planes are split across workers.
    // Window bounds are clamped once per output, so the inner loops carry no bounds checks.

    public func pool2dForward(_ g: PoolGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        let oh = g.outH, ow = g.outW
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
