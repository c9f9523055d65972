import NSASKernels
import NSASBackends
import NSASTestSupport
import Testing

/// Every convolution shape family of the DARTS spaces, on both backends, forward and both gradients.
@Suite struct BLASConvTests {
    static let shapes: [ConvGeometry] = [
        ConvGeometry(n: 3, cIn: 6, h: 8, w: 8, cOut: 5, kH: 1, kW: 1),                              // 1x1
        ConvGeometry(n: 2, cIn: 6, h: 9, w: 9, cOut: 4, kH: 1, kW: 1, stride: 2),                   // FactorizedReduce
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 16, kH: 1, kW: 1, stride: 2),                // ... whole-vector rows
        ConvGeometry(n: 2, cIn: 3, h: 31, w: 31, cOut: 16, kH: 1, kW: 1, stride: 2),                // ... its cropped half
        ConvGeometry(n: 1, cIn: 4, h: 6, w: 64, cOut: 4, kH: 1, kW: 1, stride: 2, groups: 2),       // ... grouped, two vectors
        ConvGeometry(n: 1, cIn: 2, h: 7, w: 10, cOut: 2, kH: 1, kW: 1, stride: 3),                  // ... stride 3
        ConvGeometry(n: 2, cIn: 3, h: 10, w: 10, cOut: 8, kH: 3, kW: 3, padding: 1),                 // stem
        ConvGeometry(n: 2, cIn: 5, h: 11, w: 9, cOut: 5, kH: 3, kW: 3, stride: 1, padding: 1, groups: 5), // sep 3x3
        ConvGeometry(n: 2, cIn: 4, h: 12, w: 12, cOut: 4, kH: 5, kW: 5, stride: 2, padding: 2, groups: 4),  // sep 5x5 s2
        ConvGeometry(n: 2, cIn: 4, h: 9, w: 9, cOut: 4, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 4),  // dil 3x3
        ConvGeometry(n: 1, cIn: 3, h: 13, w: 13, cOut: 3, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 3), // dil 5x5 s2
        ConvGeometry(n: 2, cIn: 6, h: 7, w: 7, cOut: 4, kH: 3, kW: 3, padding: 1, groups: 2),        // grouped
        ConvGeometry(n: 1, cIn: 2, h: 4, w: 4, cOut: 2, kH: 3, kW: 3, stride: 3, padding: 1, groups: 2),   // sparse stride
        ConvGeometry(n: 2, cIn: 3, h: 1, w: 1, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),        // 1x1 plane
        ConvGeometry(n: 1, cIn: 2, h: 1, w: 7, cOut: 2, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 2), // one row
        ConvGeometry(n: 1, cIn: 2, h: 3, w: 2, cOut: 2, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 2),  // kernel wider than plane
        ConvGeometry(n: 2, cIn: 3, h: 8, w: 8, cOut: 3, kH: 3, kW: 3, stride: 2, padding: 0, groups: 3),    // no padding, s2
        ConvGeometry(n: 1, cIn: 2, h: 6, w: 5, cOut: 2, kH: 3, kW: 1, padding: 1, groups: 2),        // non-square: grouped gemm path
        ConvGeometry(n: 2, cIn: 3, h: 8, w: 8, cOut: 48, kH: 3, kW: 3, padding: 1),                  // stem: 16-row kernel forward
        ConvGeometry(n: 2, cIn: 32, h: 4, w: 4, cOut: 16, kH: 3, kW: 3, padding: 1),                 // 16-row kernel on im2col
        ConvGeometry(n: 3, cIn: 32, h: 4, w: 8, cOut: 32, kH: 1, kW: 1, groups: 2),                   // 16-row kernel per group
        ConvGeometry(n: 2, cIn: 12, h: 7, w: 7, cOut: 8, kH: 1, kW: 1),                             // 1x1 on 7x7 planes (sgemm)
        ConvGeometry(n: 2, cIn: 16, h: 14, w: 14, cOut: 36, kH: 1, kW: 1),                          // ... C=36 at 14x14
        ConvGeometry(n: 3, cIn: 8, h: 2, w: 2, cOut: 4, kH: 1, kW: 1),                              // ... 2x2 planes
        ConvGeometry(n: 2, cIn: 3, h: 8, w: 8, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),        // depthwise rows half a vector wide
        ConvGeometry(n: 2, cIn: 3, h: 8, w: 8, cOut: 3, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 3), // ... dilated 5x5 (taps past both edges)
        ConvGeometry(n: 1, cIn: 2, h: 5, w: 8, cOut: 2, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 2), // ... fewer rows than columns
        ConvGeometry(n: 1, cIn: 2, h: 10, w: 10, cOut: 2, kH: 9, kW: 9, padding: 4, groups: 2),      // depthwise 9x9: im2col path
        // Dense convolutions through im2col/col2im (NAS-Bench-201's cells and residual blocks):
        // stride 2, dilation, odd sizes, a padding wider than the kernel reach, planes narrower than the kernel.
        ConvGeometry(n: 2, cIn: 4, h: 14, w: 14, cOut: 8, kH: 3, kW: 3, stride: 2, padding: 1),
        ConvGeometry(n: 1, cIn: 3, h: 9, w: 7, cOut: 5, kH: 3, kW: 3, stride: 2, padding: 2, dilation: 2),
        ConvGeometry(n: 2, cIn: 2, h: 5, w: 6, cOut: 3, kH: 3, kW: 3, stride: 3, padding: 3),
        ConvGeometry(n: 1, cIn: 2, h: 2, w: 3, cOut: 2, kH: 5, kW: 5, padding: 2),
        // Depthwise stride 1 on planes one and two vectors wide: the direct row kernels, every
        // kernel size and dilation of the DARTS space, short and odd heights.
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 5, kW: 5, padding: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 3, kW: 3, padding: 1, groups: 2),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 5, kW: 5, padding: 2, groups: 2),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 2),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 3, w: 32, cOut: 2, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 1, w: 16, cOut: 2, kH: 3, kW: 3, padding: 1, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 7, w: 16, cOut: 2, kH: 5, kW: 5, padding: 2, groups: 2),
        // ... and on widths that are not whole vectors (28, 14 and 7: the stages at 28x28; 20; a
        // single column): the last vector's lanes masked, the plane's last rows read and written
        // without a whole-vector access past the plane.
        ConvGeometry(n: 2, cIn: 3, h: 28, w: 28, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 28, w: 28, cOut: 3, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 14, w: 14, cOut: 3, kH: 5, kW: 5, padding: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 14, w: 14, cOut: 3, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 3),
        ConvGeometry(n: 3, cIn: 3, h: 7, w: 7, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 7, w: 7, cOut: 3, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 3),
        ConvGeometry(n: 1, cIn: 2, h: 3, w: 20, cOut: 2, kH: 5, kW: 5, padding: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 9, w: 1, cOut: 2, kH: 3, kW: 3, padding: 2, dilation: 2, groups: 2),
        // planes 16 wide go two at a time: an odd plane count, pairs across channels and images
        ConvGeometry(n: 3, cIn: 3, h: 16, w: 16, cOut: 3, kH: 3, kW: 3, padding: 1, groups: 3),
        ConvGeometry(n: 3, cIn: 3, h: 16, w: 16, cOut: 3, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 3),
        // ... and stride 2 (the reduction cells), even and odd heights, half-vector output rows.
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 3, kW: 3, stride: 2, padding: 1, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 5, kW: 5, stride: 2, padding: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 3, kW: 3, stride: 2, padding: 2, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 32, w: 32, cOut: 3, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 3, kW: 3, stride: 2, padding: 1, groups: 2),
        ConvGeometry(n: 2, cIn: 2, h: 16, w: 16, cOut: 2, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 7, w: 32, cOut: 2, kH: 5, kW: 5, stride: 2, padding: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 1, w: 16, cOut: 2, kH: 3, kW: 3, stride: 2, padding: 2, dilation: 2, groups: 2),
        // ... stride 2 on widths that are not whole vectors (28 and 14 at 28x28; odd widths, whose
        // output is one column more than half)
        ConvGeometry(n: 2, cIn: 3, h: 28, w: 28, cOut: 3, kH: 3, kW: 3, stride: 2, padding: 1, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 28, w: 28, cOut: 3, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 14, w: 14, cOut: 3, kH: 5, kW: 5, stride: 2, padding: 2, groups: 3),
        ConvGeometry(n: 2, cIn: 3, h: 14, w: 14, cOut: 3, kH: 3, kW: 3, stride: 2, padding: 2, dilation: 2, groups: 3),
        ConvGeometry(n: 3, cIn: 2, h: 7, w: 7, cOut: 2, kH: 3, kW: 3, stride: 2, padding: 1, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 9, w: 31, cOut: 2, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 2),
        ConvGeometry(n: 1, cIn: 2, h: 4, w: 20, cOut: 2, kH: 3, kW: 3, stride: 2, padding: 1, groups: 2),
    ]

    /// Convolution with evaluation-mode BN folded in: the reference's definition (conv, then the
    /// affine map) and the fast backend's one-pass version agree, on every shape family.
    @Test(arguments: shapes + [ConvGeometry(n: 2, cIn: 16, h: 4, w: 8, cOut: 32, kH: 1, kW: 1)], [false, true])
    func affineEpilogueMatchesReference(_ shape: ConvGeometry, _ relu: Bool) {
        var g = shape
        g.reluInput = relu
        let x = randomArray(g.n * g.cIn * g.h * g.w, seed: 21), w = randomArray(g.weightCount, seed: 22)
        let scale = randomArray(g.cOut, seed: 23, lo: 0.5, hi: 2), shift = randomArray(g.cOut, seed: 24)
        let count = g.n * g.cOut * g.outH * g.outW, ohw = g.outH * g.outW
        var plain = [Float](repeating: 0, count: count)
        ReferenceBackend.shared.conv2dForward(g, y: &plain, x: x, w: w)
        for i in 0..<count { plain[i] = plain[i] * scale[(i / ohw) % g.cOut] + shift[(i / ohw) % g.cOut] }
        for b in [ReferenceBackend.shared, BLASBackend.shared] as [any Backend] {
            var y = [Float](repeating: 7, count: count)
            b.conv2dForwardAffine(g, y: &y, x: x, w: w, scale: scale, shift: shift)
            assertClose(y, plain, atol: 1e-5, "\(b.name) \(g)")
        }
    }

    @Test(arguments: shapes, [false, true])
    func matchesReference(_ shape: ConvGeometry, _ relu: Bool) {
        var g = shape
        g.reluInput = relu
        let r = ReferenceBackend.shared, b = BLASBackend.shared
        let x = randomArray(g.n * g.cIn * g.h * g.w, seed: 11), w = randomArray(g.weightCount, seed: 12)
        let dy = randomArray(g.n * g.cOut * g.outH * g.outW, seed: 13)
        var yr = [Float](repeating: 0, count: dy.count), yb = [Float](repeating: 7, count: dy.count)
        r.conv2dForward(g, y: &yr, x: x, w: w)
        b.conv2dForward(g, y: &yb, x: x, w: w)
        assertClose(yb, yr, atol: 1e-5, "forward \(g)")
        // Both gradients accumulate into what is already there.
        var dxr = randomArray(x.count, seed: 14), dxb = dxr
        r.conv2dBackwardData(g, dx: &dxr, dy: dy, w: w, x: x)
        b.conv2dBackwardData(g, dx: &dxb, dy: dy, w: w, x: x)
        assertClose(dxb, dxr, atol: 1e-5, "backward data \(g)")
        // Overwriting (a first gradient): whatever the buffer held is gone, on both backends.
        var dx0 = [Float](repeating: 0, count: x.count)
        r.conv2dBackwardData(g, dx: &dx0, dy: dy, w: w, x: x)
        for be in [r, b] as [any Backend] {
            var dxo = [Float](repeating: .nan, count: x.count)
            be.conv2dBackwardData(g, dx: &dxo, dy: dy, w: w, x: x, accumulate: false)
            assertClose(dxo, dx0, atol: 1e-5, "\(be.name) backward data, overwriting, \(g)")
        }
        var dwr = randomArray(w.count, seed: 15), dwb = dwr
        r.conv2dBackwardWeight(g, dw: &dwr, x: x, dy: dy)
        b.conv2dBackwardWeight(g, dw: &dwb, x: x, dy: dy)
        assertClose(dwb, dwr, atol: 1e-4, "backward weight \(g)")
    }

    /// The 1x1 kernels' AVX2 register blocks (4 rows x 3 or 2 8-float vectors, 2x2 weight-gradient blocks) give
    /// the same results as the AVX-512 ones (8 x 2 vectors where the rows allow, else 4 x 2, one
    /// vector at the last 16 columns; 4x4), on every shape, both forced on this machine: forward,
    /// forward with evaluation-mode batch norm folded in, and both gradients.
    @Test func fourAndSixteenRowBlocksAgree() {
        defer { nsas_gemm_rows_block = 0 }
        for g in Self.shapes + [ConvGeometry(n: 2, cIn: 16, h: 4, w: 8, cOut: 32, kH: 1, kW: 1),
                                ConvGeometry(n: 3, cIn: 32, h: 4, w: 8, cOut: 64, kH: 1, kW: 1, reluInput: true),
                                ConvGeometry(n: 2, cIn: 16, h: 4, w: 12, cOut: 24, kH: 1, kW: 1),   // 8 x 2, then 4 x 1
                                ConvGeometry(n: 2, cIn: 16, h: 8, w: 8, cOut: 12, kH: 1, kW: 1)] {   // 4 x 2 (12 rows)
            let x = randomArray(g.n * g.cIn * g.h * g.w, seed: 31), w = randomArray(g.weightCount, seed: 32)
            let dy = randomArray(g.n * g.cOut * g.outH * g.outW, seed: 33)
            let scale = randomArray(g.cOut, seed: 34), shift = randomArray(g.cOut, seed: 35)
            var out: [[Float]] = []
            for block: Int32 in [16, 4] {
                nsas_gemm_rows_block = block
                var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
                var dw = [Float](repeating: 0, count: w.count), ya = y
                BLASBackend.shared.conv2dForward(g, y: &y, x: x, w: w)
                BLASBackend.shared.conv2dForwardAffine(g, y: &ya, x: x, w: w, scale: scale, shift: shift)   // eval-mode BN folded in
                BLASBackend.shared.conv2dBackwardData(g, dx: &dx, dy: dy, w: w, x: x)
                BLASBackend.shared.conv2dBackwardWeight(g, dw: &dw, x: x, dy: dy)
                out.append(y + ya + dx + dw)
            }
            #expect(out[0] == out[1], "\(g)")
        }
    }

    /// Both gradients at once (the fast backend fuses thin 1x1 convolutions image by image) equal
    /// the two kernels one after the other, exactly: the same sums in the same order, with and
    /// without the fused ReLU, overwriting or adding into dx, on both register blocks, with a batch
    /// split across workers; and either gradient alone where the other is not wanted.
    @Test func bothGradientsAtOnceEqualTheTwoApart() {
        defer { nsas_gemm_rows_block = 0 }
        for base in [ConvGeometry(n: 3, cIn: 16, h: 4, w: 8, cOut: 32, kH: 1, kW: 1),    // fused
                     ConvGeometry(n: 16, cIn: 32, h: 8, w: 8, cOut: 16, kH: 1, kW: 1),   // fused, workers
                     ConvGeometry(n: 2, cIn: 16, h: 4, w: 4, cOut: 12, kH: 1, kW: 1),    // fused, 12 outputs
                     ConvGeometry(n: 2, cIn: 12, h: 7, w: 7, cOut: 8, kH: 1, kW: 1),     // not thin: apart
                     ConvGeometry(n: 2, cIn: 6, h: 8, w: 8, cOut: 6, kH: 3, kW: 3, padding: 1, groups: 6)] {
            for relu in [false, true] {
                var g = base
                g.reluInput = relu
                let x = randomArray(g.n * g.cIn * g.h * g.w, seed: 41), w = randomArray(g.weightCount, seed: 42)
                let dy = randomArray(g.n * g.cOut * g.outH * g.outW, seed: 43)
                let dx0 = randomArray(x.count, seed: 44), dw0 = randomArray(w.count, seed: 45)
                for block: Int32 in [16, 4] {
                    nsas_gemm_rows_block = block
                    for accumulate in [false, true] {
                        let b = BLASBackend.shared
                        var dxApart = dx0, dwApart = dw0, dxTogether = dx0, dwTogether = dw0
                        b.conv2dBackwardData(g, dx: &dxApart, dy: dy, w: w, x: x, accumulate: accumulate)
                        b.conv2dBackwardWeight(g, dw: &dwApart, x: x, dy: dy)
                        b.conv2dBackward(g, dx: &dxTogether, accumulate: accumulate, dw: &dwTogether, dy: dy, w: w, x: x)
                        #expect(dxTogether == dxApart, "dx \(g) block \(block) accumulate \(accumulate)")
                        #expect(dwTogether == dwApart, "dw \(g) block \(block) accumulate \(accumulate)")
                        var dxOnly = dx0, dwOnly = dw0
                        b.conv2dBackward(g, dx: &dxOnly, accumulate: accumulate, dw: nil, dy: dy, w: w, x: x)
                        b.conv2dBackward(g, dx: nil, accumulate: accumulate, dw: &dwOnly, dy: dy, w: w, x: x)
                        #expect(dxOnly == dxApart && dwOnly == dwApart, "one gradient \(g)")
                    }
                }
                // and the definition agrees (the reference backend runs the two apart)
                var dxr = dx0, dwr = dw0, dxb = dx0, dwb = dw0
                ReferenceBackend.shared.conv2dBackward(g, dx: &dxr, accumulate: true, dw: &dwr, dy: dy, w: w, x: x)
                BLASBackend.shared.conv2dBackward(g, dx: &dxb, accumulate: true, dw: &dwb, dy: dy, w: w, x: x)
                assertClose(dxb, dxr, atol: 1e-4, "reference dx \(g)")
                assertClose(dwb, dwr, atol: 1e-4, "reference dw \(g)")
            }
        }
    }

    @Test func largeBatchSplitsAcrossWorkers() {
        // Big enough for the parallel path in every kernel.
        for g in [ConvGeometry(n: 16, cIn: 16, h: 16, w: 16, cOut: 16, kH: 1, kW: 1),
                  ConvGeometry(n: 16, cIn: 16, h: 16, w: 16, cOut: 16, kH: 3, kW: 3, padding: 1, groups: 16),
                  ConvGeometry(n: 16, cIn: 16, h: 8, w: 8, cOut: 16, kH: 5, kW: 5, padding: 2, groups: 16),
                  // a worker's range starting at an odd plane (pairs of 16-wide planes)
                  ConvGeometry(n: 9, cIn: 7, h: 16, w: 16, cOut: 7, kH: 5, kW: 5, padding: 2, groups: 7),
                  // widths that are not whole vectors (the default data's), stride 1 and 2
                  ConvGeometry(n: 16, cIn: 16, h: 28, w: 28, cOut: 16, kH: 3, kW: 3, padding: 1, groups: 16),
                  ConvGeometry(n: 16, cIn: 16, h: 14, w: 14, cOut: 16, kH: 5, kW: 5, stride: 2, padding: 4, dilation: 2, groups: 16)] {
            matchesReference(g, false)
            matchesReference(g, true)
        }
    }
}
