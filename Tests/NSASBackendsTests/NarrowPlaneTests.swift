#if canImport(Glibc)
import Glibc
#endif
import NSASBackends
import NSASKernels
import NSASTestSupport
import Testing

/// Planes at most 32 wide whose width is not a whole number of 16-float vectors (28, 14 and 7 of
/// the default 28x28 data): the direct depthwise kernels (stride 1 and 2) load and store whole
/// vectors within a plane but never past it, and the pools stage such planes. Each plane here ends
/// where an unreadable page begins, so a read or write past it faults; results are checked against
/// the same call on ordinary buffers, and every width against the reference backend.
/// (The AVX-512 build may fold a load and its lane mask into a masked load, which does not fault
/// on masked lanes: the guard catches stray accesses of the AVX2 and baseline code, where a
/// whole-vector load past the plane does fault; checked with the AVX2 build of docs/benchmarks.md.)
@Suite struct NarrowPlaneTests {
    /// A buffer of `count` floats that ends at an inaccessible page.
    final class Guarded {
        let base: UnsafeMutableRawPointer, size: Int, floats: UnsafeMutablePointer<Float>
        init(_ count: Int) {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let data = (count * 4 + page - 1) / page * page
            size = data + page
            base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            mprotect(base + data, page, PROT_NONE)
            floats = (base + data - count * 4).assumingMemoryBound(to: Float.self)
        }
        func fill(_ values: [Float]) { for (i, v) in values.enumerated() { floats[i] = v } }
        func array(_ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: floats, count: count)) }
        deinit { munmap(base, size) }
    }

    /// FactorizedReduce's strided gather and its adjoint, from row and column 0 and 1 (the shifted
    /// half, read in place): nothing read or written past the plane, on even widths up to 66.
    @Test func stridedGatherStaysInThePlane() {
        for wd in [2, 4, 14, 28, 30, 32, 34, 64, 66] {
            for h in [2, 6] {
                let n = h * wd, (oh, ow) = (h / 2, wd / 2), m = oh * ow
                let x = randomArray(2 * n, seed: UInt64(wd)), g = randomArray(2 * m, seed: 3)
                let gx = Guarded(2 * n), gdx = Guarded(2 * n)
                gx.fill(x); gdx.fill(x)
                for at: Int32 in [0, 1] {
                    var col = [Float](repeating: 0, count: 2 * m), expected = col
                    nsas_gather_strided(&col, gx.floats, 2, Int32(h), Int32(wd), Int32(oh), Int32(ow), 2, 2, at, 1)
                    for p in 0..<2 { for r in 0..<oh { for c in 0..<ow {
                        expected[(p * oh + r) * ow + c] = max(0, x[p * n + (Int(at) + 2 * r) * wd + Int(at) + 2 * c])
                    } } }
                    #expect(col == expected, "gather h \(h) w \(wd) at \(at)")
                    var dx = x
                    nsas_scatter_strided_add(gdx.floats, g, 2, Int32(h), Int32(wd), Int32(oh), Int32(ow), 2, 2, at, gx.floats)
                    for p in 0..<2 { for r in 0..<oh { for c in 0..<ow {
                        let i = p * n + (Int(at) + 2 * r) * wd + Int(at) + 2 * c
                        if x[i] > 0 { dx[i] += g[(p * oh + r) * ow + c] }
                    } } }
                    #expect(gdx.array(2 * n) == dx, "scatter h \(h) w \(wd) at \(at)")
                    gdx.fill(x)
                }
            }
        }
    }

    @Test(arguments: [(3, 1), (5, 1), (3, 2), (5, 2)], [1, 2])
    func partialWidthsStayInThePlane(_ kd: (Int, Int), _ stride: Int) {
        let (k, dil) = kd, pad = dil * (k - 1) / 2
        for wd in [1, 3, 7, 8, 12, 14, 15, 17, 20, 28, 31] {
            for h in [1, 2, 5, 7, 14] {
                let n = h * wd, kk = k * k
                let oh = (h - 1) / stride + 1, ow = (wd - 1) / stride + 1, m = oh * ow
                let x = randomArray(n, seed: UInt64(wd * 100 + h)), dy = randomArray(m, seed: 7), w = randomArray(kk, seed: 8)
                let scratch = [Float](repeating: 0, count: Int(nsas_dw_scratch(Int32(h), Int32(wd), Int32(k), Int32(pad), Int32(dil))))
                let gx = Guarded(n), gdy = Guarded(m), gy = Guarded(m), gdx = Guarded(n)
                gx.fill(x); gdy.fill(dy); gdx.fill(x)
                var s = scratch
                let (h32, w32, oh32, ow32) = (Int32(h), Int32(wd), Int32(oh), Int32(ow))
                let (k32, s32, p32, d32) = (Int32(k), Int32(stride), Int32(pad), Int32(dil))
                let what = "h \(h) w \(wd) k \(k) dil \(dil) stride \(stride)"
                // forward
                nsas_dw_forward(gy.floats, gx.floats, w, &s, h32, w32, oh32, ow32, k32, s32, p32, d32, 1)
                var y = [Float](repeating: 0, count: m)
                nsas_dw_forward(&y, x, w, &s, h32, w32, oh32, ow32, k32, s32, p32, d32, 1)
                #expect(gy.array(m) == y, "forward \(what)")
                // input gradient, masked by the ReLU's input, added to what is there
                nsas_dw_backward_data_add(gdx.floats, gdy.floats, w, &s, h32, w32, oh32, ow32, k32, s32, p32, d32, gx.floats)
                var dx = x
                nsas_dw_backward_data_add(&dx, dy, w, &s, h32, w32, oh32, ow32, k32, s32, p32, d32, x)
                #expect(gdx.array(n) == dx, "input gradient \(what)")
                // weight gradient
                var dwg = [Float](repeating: 0, count: kk), dw = dwg
                nsas_dw_backward_weight_planes_add(&dwg, gx.floats, gdy.floats, &s, 1, n, m, h32, w32, oh32, ow32, k32, s32, p32, d32, 1)
                nsas_dw_backward_weight_planes_add(&dw, x, dy, &s, 1, n, m, h32, w32, oh32, ow32, k32, s32, p32, d32, 1)
                #expect(dwg == dw, "weight gradient \(what)")
            }
        }
    }

    /// Every width from 1 to 33 (the direct kernels up to 32, the wide ones past it), both strides,
    /// every DARTS kernel size and dilation, against the reference backend: forward and both
    /// gradients (the input gradient masked by a ReLU), and the 3x3 pools.
    @Test(arguments: [1, 2])
    func everyWidthMatchesReference(_ stride: Int) {
        let r = ReferenceBackend.shared, b = BLASBackend.shared
        for wd in 1...33 {
            for (k, dil) in [(3, 1), (5, 1), (3, 2), (5, 2)] {
                let h = 3 + wd % 5
                var g = ConvGeometry(n: 2, cIn: 3, h: h, w: wd, cOut: 3, kH: k, kW: k, stride: stride,
                                     padding: dil * (k - 1) / 2, dilation: dil, groups: 3)
                g.reluInput = wd % 2 == 0
                let x = randomArray(g.n * g.cIn * h * wd, seed: UInt64(wd)), w = randomArray(g.weightCount, seed: 5)
                let dy = randomArray(g.n * g.cOut * g.outH * g.outW, seed: 6)
                var yr = [Float](repeating: 0, count: dy.count), yb = yr
                r.conv2dForward(g, y: &yr, x: x, w: w); b.conv2dForward(g, y: &yb, x: x, w: w)
                assertClose(yb, yr, atol: 1e-5, "forward \(g)")
                var dxr = randomArray(x.count, seed: 7), dxb = dxr
                r.conv2dBackwardData(g, dx: &dxr, dy: dy, w: w, x: x); b.conv2dBackwardData(g, dx: &dxb, dy: dy, w: w, x: x)
                assertClose(dxb, dxr, atol: 1e-5, "input gradient \(g)")
                var dwr = [Float](repeating: 0, count: w.count), dwb = dwr
                r.conv2dBackwardWeight(g, dw: &dwr, x: x, dy: dy); b.conv2dBackwardWeight(g, dw: &dwb, x: x, dy: dy)
                assertClose(dwb, dwr, atol: 1e-4, "weight gradient \(g)")
            }
            for kind in [PoolKind.max, .average] {
                let p = PoolGeometry(kind: kind, n: 2, c: 2, h: 2 + wd % 6, w: wd, kernel: 3, stride: stride, padding: 1)
                let x = randomArray(p.n * p.c * p.h * p.w, seed: UInt64(wd + 50)).map { kind == .max ? ($0 * 4).rounded() : $0 }
                let dy = randomArray(p.n * p.c * p.outH * p.outW, seed: 8)
                var yr = [Float](repeating: 0, count: dy.count), yb = yr
                r.pool2dForward(p, y: &yr, x: x); b.pool2dForward(p, y: &yb, x: x)
                assertClose(yb, yr, "pool forward \(p)")
                var dxr = randomArray(x.count, seed: 9), dxb = dxr
                r.pool2dBackward(p, dx: &dxr, dy: dy, x: x); b.pool2dBackward(p, dx: &dxb, dy: dy, x: x)
                assertClose(dxb, dxr, "pool backward \(p)")
            }
        }
    }

    /// The same for the 3x3 pools (staged into whole-vector rows on these widths), both kinds,
    /// forward and backward.
    @Test(arguments: [1, 2])
    func poolsStayInThePlane(_ stride: Int) {
        for wd in [1, 3, 7, 8, 12, 14, 17, 20, 28, 31] {
            for h in [1, 2, 5, 7, 14] {
                let n = h * wd, oh = (h - 1) / stride + 1, ow = (wd - 1) / stride + 1, m = oh * ow
                let x = randomArray(n, seed: UInt64(wd * 100 + h)), dy = randomArray(m, seed: 9)
                let gx = Guarded(n), gdy = Guarded(m), gy = Guarded(m), gdx = Guarded(n)
                gx.fill(x); gdy.fill(dy)
                var s = [Float](repeating: 0, count: Int(nsas_pool3_scratch(Int32(h), Int32(wd))))
                let (h32, w32, oh32, ow32, s32) = (Int32(h), Int32(wd), Int32(oh), Int32(ow), Int32(stride))
                for isMax in [true, false] {
                    let what = "\(isMax ? "max" : "average") h \(h) w \(wd) stride \(stride)"
                    var y = [Float](repeating: 0, count: m), dx = x
                    gdx.fill(x)
                    if isMax {
                        nsas_pool3_max_forward(gy.floats, gx.floats, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_max_forward(&y, x, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_max_backward_add(gdx.floats, gdy.floats, gx.floats, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_max_backward_add(&dx, dy, x, &s, 1, h32, w32, oh32, ow32, s32)
                    } else {
                        nsas_pool3_avg_forward(gy.floats, gx.floats, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_avg_forward(&y, x, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_avg_backward_add(gdx.floats, gdy.floats, &s, 1, h32, w32, oh32, ow32, s32)
                        nsas_pool3_avg_backward_add(&dx, dy, &s, 1, h32, w32, oh32, ow32, s32)
                    }
                    #expect(gy.array(m) == y, "forward \(what)")
                    #expect(gdx.array(n) == dx, "backward \(what)")
                }
            }
        }
    }
}
