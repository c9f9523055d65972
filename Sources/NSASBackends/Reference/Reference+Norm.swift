import Foundation
extension ReferenceBackend {
    // x is (N,C,S) with S = H*W; statistics are per channel over N and S.

    public func channelMoments(n: Int, c: Int, s: Int, mean: UnsafeMutablePointer<Float>,
                               variance: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        let count = Double(n * s)
        for ch in 0..<c {
            var sum = 0.0
            for i in 0..<n { for j in 0..<s { sum += Double(x[(i * c + ch) * s + j]) } }
            let m = sum / count
            var sq = 0.0
            for i in 0..<n { for j in 0..<s { let d = Double(x[(i * c + ch) * s + j]) - m; sq += d * d } }
            mean[ch] = Float(m)
            variance[ch] = Float(sq / count)
        }
    }

    public func logSoftmax(rows: Int, c: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * c, yr = y + r * c
            var m = -Float.infinity
            for j in 0..<c { m = max(m, xr[j]) }
            var z: Float = 0
            for j in 0..<c { z += Foundation.exp(xr[j] - m) }
            let lse = m + Foundation.log(z)
            for j in 0..<c { yr[j] = xr[j] - lse }
        }
    }

    public func logSoftmaxBackward(rows: Int, c: Int, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>) {
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<c { s += dy[r * c + j] }
            for j in 0..<c { dx[r * c + j] += dy[r * c + j] - Foundation.exp(y[r * c + j]) * s }
        }
    }

    public func channelAffine(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, mean: UnsafePointer<Float>) {
        for i in 0..<n {
            for ch in 0..<c {
                for j in 0..<s {
                    let idx = (i * c + ch) * s + j
                    y[idx] = (x[idx] - mean[ch]) * scale[ch] + shift[ch]
                }
            }
        }
    }

    public func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?) {
        let count = Double(n * s)
        for ch in 0..<c {
            var sumDy = 0.0, sumDyXhat = 0.0
            for i in 0..<n {
                for j in 0..<s {
                    let idx = (i * c + ch) * s + j
                    let xhat = Double((x[idx] - mean[ch]) * invStd[ch])
                    sumDy += Double(dy[idx]); sumDyXhat += Double(dy[idx]) * xhat
                }
            }
            dgamma?[ch] += Float(sumDyXhat)
            dbeta?[ch] += Float(sumDy)
            let g = Double(gamma?[ch] ?? 1) * Double(invStd[ch])
            let meanDy = sumDy / count, meanDyXhat = sumDyXhat / count
            for i in 0..<n {
                for j in 0..<s {
                    let idx = (i * c + ch) * s + j
                    let xhat = Double((x[idx] - mean[ch]) * invStd[ch])
                    dx[idx] += Float(g * (Double(dy[idx]) - meanDy - xhat * meanDyXhat))
                }
            }
        }
    }
}
