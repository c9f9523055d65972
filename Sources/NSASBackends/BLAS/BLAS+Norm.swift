extension BLASBackend {
    // x is (N,C,S) with S = H*W. Statistics split over channels, the affine map over planes.

    public func channelMoments(n: Int, c: Int, s: Int, mean: UnsafeMutablePointer<Float>,
                               variance: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        Parallel.forRanges(c, costPerItem: 2 * n * s) { channels in
            for ch in channels {
                var sum = 0.0
                for i in 0..<n {
                    let r = x + (i * c + ch) * s
                    var part: Float = 0
                    for j in 0..<s { part += r[j] }
                    sum += Double(part)
                }
                let m = sum / Double(n * s), mf = Float(m)
                var sq = 0.0
                for i in 0..<n {
                    let r = x + (i * c + ch) * s
                    var part: Float = 0
                    for j in 0..<s { let d = r[j] - mf; part += d * d }
                    sq += Double(part)
                }
                mean[ch] = mf
                variance[ch] = Float(sq / Double(n * s))
            }
        }
    }

    public func channelAffine(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, mean: UnsafePointer<Float>) {
        Parallel.forRanges(n * c, costPerItem: s) { planes in
            for p in planes {
                let ch = p % c
                let a = scale[ch], b = shift[ch] - mean[ch] * scale[ch]
                let xr = x + p * s, yr = y + p * s
                for j in 0..<s { yr[j] = xr[j] * a + b }
            }
        }
    }

    public func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?) {
        Parallel.forRanges(c, costPerItem: 3 * n * s) { channels in
            for ch in channels {
                let m = mean[ch], inv = invStd[ch]
                var sumDy = 0.0, sumDyXhat = 0.0
                for i in 0..<n {
                    let xr = x + (i * c + ch) * s, dyr = dy + (i * c + ch) * s
                    var a: Float = 0, b: Float = 0
                    for j in 0..<s { a += dyr[j]; b += dyr[j] * (xr[j] - m) }
                    sumDy += Double(a); sumDyXhat += Double(b) * Double(inv)
                }
                dgamma?[ch] += Float(sumDyXhat)
                dbeta?[ch] += Float(sumDy)
                let count = Double(n * s)
                let k = (gamma?[ch] ?? 1) * inv
                let meanDy = Float(sumDy / count), meanDyXhat = Float(sumDyXhat / count)
                // dx += k * (dy - meanDy - (x - m) * inv * meanDyXhat)
                let slope = inv * meanDyXhat
                for i in 0..<n {
                    let xr = x + (i * c + ch) * s, dyr = dy + (i * c + ch) * s, dxr = dx + (i * c + ch) * s
                    for j in 0..<s { dxr[j] += k * (dyr[j] - meanDy - (xr[j] - m) * slope) }
                }
            }
        }
    }
}
