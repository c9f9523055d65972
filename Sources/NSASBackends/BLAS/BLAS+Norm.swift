import NSASKernels

extension BLASBackend {
    // x is (N,C,S) with S = H*W. Statistics split over channels, the affine map over planes;
    // each plane's loop is a vectorised C kernel, plane totals are summed in double.

    public func channelMoments(n: Int, c: Int, s: Int, mean: UnsafeMutablePointer<Float>,
                               variance: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        Parallel.forRanges(c, costPerItem: 2 * n * s) { channels in
            for ch in channels { (mean[ch], variance[ch]) = moments(n: n, c: c, s: s, ch: ch, x: x) }
        }
    }

    /// Per channel: the two statistics passes, then the normalisation over the channel's planes
    /// while they are in cache (a channel of a 64-image batch at 32x32 is 256 KB), in place when y
    /// is x, instead of a third pass over the whole tensor from memory.
    public func batchNormTrainingForward(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                         mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, eps: Float,
                                         gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?) {
        Parallel.forRanges(c, costPerItem: 4 * n * s) { channels in
            for ch in channels {
                let (m, v) = moments(n: n, c: c, s: s, ch: ch, x: x)
                mean[ch] = m
                variance[ch] = v
                let scale = batchNormScale(variance: v, eps: eps, gamma: gamma?[ch])
                let shift = (beta?[ch] ?? 0) - m * scale
                for i in 0..<n { nsas_affine(y + (i * c + ch) * s, x + (i * c + ch) * s, scale, shift, s) }
            }
        }
    }

    /// One channel's mean and biased variance: each plane's loop a vectorised kernel, totals in double.
    @inline(__always)
    private func moments(n: Int, c: Int, s: Int, ch: Int, x: UnsafePointer<Float>) -> (Float, Float) {
        var sum = 0.0
        for i in 0..<n { sum += nsas_sum(x + (i * c + ch) * s, s) }
        let m = Float(sum / Double(n * s))
        var sq = 0.0
        for i in 0..<n { sq += nsas_sum_sq_centered(x + (i * c + ch) * s, m, s) }
        return (m, Float(sq / Double(n * s)))
    }

    public func logSoftmax(rows: Int, c: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        Parallel.forRanges(rows, costPerItem: 8 * c) { r in nsas_log_softmax_rows(y + r.lowerBound * c, x + r.lowerBound * c, r.count, c) }
    }

    public func logSoftmaxBackward(rows: Int, c: Int, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>) {
        Parallel.forRanges(rows, costPerItem: 8 * c) { r in
            nsas_log_softmax_backward_add(dx + r.lowerBound * c, dy + r.lowerBound * c, y + r.lowerBound * c, r.count, c)
        }
    }

    public func channelAffine(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, mean: UnsafePointer<Float>) {
        Parallel.forRanges(n * c, costPerItem: s) { planes in
            for p in planes {
                let ch = p % c
                nsas_affine(y + p * s, x + p * s, scale[ch], shift[ch] - mean[ch] * scale[ch], s)
            }
        }
    }

    public func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?) {
        batchNormBackward(n: n, c: c, s: s, dx: dx, dgamma: dgamma, dbeta: dbeta, dy: dy, x: x, mean: mean, invStd: invStd,
                          gamma: gamma, accumulate: true)
    }

    public func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, accumulate: Bool) {
        Parallel.forRanges(c, costPerItem: 3 * n * s) { channels in
            for ch in channels {
                let m = mean[ch], inv = invStd[ch]
                var sumDy = 0.0, sumDyXc = 0.0
                for i in 0..<n { nsas_sum_dy_dyxc(dy + (i * c + ch) * s, x + (i * c + ch) * s, m, s, &sumDy, &sumDyXc) }
                let sumDyXhat = sumDyXc * Double(inv)
                dgamma?[ch] += Float(sumDyXhat)
                dbeta?[ch] += Float(sumDy)
                let count = Double(n * s)
                let k = (gamma?[ch] ?? 1) * inv
                let meanDy = Float(sumDy / count), slope = inv * Float(sumDyXhat / count)
                // dx += k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - m) * inv
                for i in 0..<n {
                    let o = (i * c + ch) * s
                    nsas_bn_dx(dx + o, dy + o, x + o, k, meanDy, m, slope, s, accumulate ? 1 : 0)
                }
            }
        }
    }
}
