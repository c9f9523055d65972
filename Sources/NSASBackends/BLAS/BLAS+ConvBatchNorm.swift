import NSASKernels

extension BLASBackend {
    /// A thin 1x1 convolution's gradients after batch norm in place (the preprocessing of DARTS
    /// cells while searching): batch norm's per-channel sums over the batch, then per chunk of
    /// images, a few images at a time, the convolution output's gradient computed into cache and
    /// the 1x1 kernel's two gradients read from there (nsas_conv1x1_backward_part), instead of
    /// that gradient written for the batch and read back. The same chunks as conv2dBackward and
    /// the same sums. dconv stays unused. Other convolutions run the two passes apart.
    public func convBatchNormBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                                      dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                      dconv: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        let ohw = g.outH * g.outW
        guard let dx, let dw, isPointwise(g), g.groups == 1, Self.thin(g.cIn, ohw), g.cOut % 4 == 0 else {
            return convBatchNormBackwardApart(g, dx: dx, accumulate: accumulate, dw: dw, dy: dy, xhat: xhat, invStd: invStd,
                                              dconv: dconv, w: w, x: x)
        }
        let coef = inPlaceNormGradientCoefficients(n: g.n, c: g.cOut, s: ohw, dy: dy, xhat: xhat, invStd: invStd)
        defer { coef.deallocate() }
        let part = max(1, (32 * 1024) / (g.cOut * ohw)), wide = nsas_conv1x1_wide()
        weightGradientInChunks(g, dw: dw) { acc, images in
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: g.cOut * g.cIn * 16)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: part * g.cOut * ohw)
            defer { sums.deallocate(); buffer.deallocate() }
            for first in stride(from: images.lowerBound, to: images.upperBound, by: part) {
                let count = min(part, images.upperBound - first)
                inPlaceNormGradient(c: g.cOut, s: ohw, into: buffer, planes: first * g.cOut..<(first + count) * g.cOut, dy: dy, xhat: xhat,
                                    coef: coef)
                nsas_conv1x1_backward_part(dx + first * g.cIn * ohw, acc, sums, buffer, w, x + first * g.cIn * ohw,
                                           Int32(g.cOut), Int32(g.cIn), ohw, Int32(count), g.reluInput ? 1 : 0, accumulate ? 1 : 0, wide,
                                           first == images.lowerBound ? 1 : 0, first + count == images.upperBound ? 1 : 0)
            }
        }
    }

    /// Per channel of an (n, c, s) output, (k, mean(dy), mean(dy * x-hat)) at coef[ch],
    /// coef[c + ch], coef[2c + ch]: the input gradient of batch norm without affine parameters
    /// normalised in place is k * (dy - mean(dy) - x-hat * mean(dy * x-hat)), k = invStd. The same
    /// sums and operations as batchNormBackward's in-place form. The caller deallocates.
    func inPlaceNormGradientCoefficients(n: Int, c: Int, s: Int, dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>,
                                         invStd: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let coef = UnsafeMutablePointer<Float>.allocate(capacity: 3 * c)
        Parallel.forRanges(c, costPerItem: 2 * n * s) { channels in
            for ch in channels {
                var sumDy = 0.0, sumDyXhat = 0.0
                for i in 0..<n { nsas_sum_dy_dyxc(dy + (i * c + ch) * s, xhat + (i * c + ch) * s, 0, s, &sumDy, &sumDyXhat) }
                let count = Double(n * s)
                (coef[ch], coef[c + ch], coef[2 * c + ch]) = (invStd[ch], Float(sumDy / count), Float(sumDyXhat / count))
            }
        }
        return coef
    }

    /// That input gradient for `planes` (of c channels, s values each), written into buffer from its start.
    func inPlaceNormGradient(c: Int, s: Int, into buffer: UnsafeMutablePointer<Float>, planes: Range<Int>, dy: UnsafePointer<Float>,
                             xhat: UnsafePointer<Float>, coef: UnsafePointer<Float>) {
        for (i, p) in planes.enumerated() {
            let ch = p % c, o = p * s
            nsas_bn_dx(buffer + i * s, dy + o, xhat + o, coef[ch], coef[c + ch], 0, coef[2 * c + ch], s, 0)
        }
    }
}
