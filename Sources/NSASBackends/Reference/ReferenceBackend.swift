import Foundation

/// Plain Swift loops written for clarity: the definition of every kernel and the oracle in tests.
public final class ReferenceBackend: Backend, @unchecked Sendable {
    public static let shared = ReferenceBackend()
    public init() {}
    public var name: String { "reference" }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += av * bv
                }
                c[i * ldc + j] = alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }

    public func unary(_ op: UnaryOp, count: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        Self.unaryLoop(op, range: 0..<count, y: y, x: x)
    }

    public func unaryBackward(_ op: UnaryOp, count: Int, dx: UnsafeMutablePointer<Float>,
                              dy: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>) {
        Self.unaryBackwardLoop(op, range: 0..<count, dx: dx, dy: dy, x: x, y: y)
    }

    public func binary(_ op: BinaryOp, count: Int, z: UnsafeMutablePointer<Float>,
                       a: UnsafePointer<Float>, b: UnsafePointer<Float>) {
        Self.binaryLoop(op, range: 0..<count, z: z, a: a, b: b)
    }

    public func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }

    public func fill(count: Int, value: Float, y: UnsafeMutablePointer<Float>) { y.update(repeating: value, count: count) }
    public func copy(count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) { y.update(from: x, count: count) }
    public func scale(count: Int, alpha: Float, y: UnsafeMutablePointer<Float>) { for i in 0..<count { y[i] *= alpha } }
    public func addScalar(count: Int, value: Float, y: UnsafeMutablePointer<Float>) { for i in 0..<count { y[i] += value } }
    public func sumOfSquares(count: Int, x: UnsafePointer<Float>) -> Double { Self.sumOfSquaresLoop(0..<count, x) }
    public func sum(count: Int, x: UnsafePointer<Float>) -> Double { Self.sumLoop(0..<count, x) }
    public func copyBlock(rows: Int, cols: Int, x: UnsafePointer<Float>, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                          accumulate: Bool) {
        Self.copyBlockLoop(0..<rows, cols, x, xStride, y, yStride, accumulate)
    }

    static func sumLoop(_ r: Range<Int>, _ x: UnsafePointer<Float>) -> Double {
        var s = 0.0
        for i in r { s += Double(x[i]) }
        return s
    }

    @inline(__always)
    static func copyBlockLoop(_ rows: Range<Int>, _ cols: Int, _ x: UnsafePointer<Float>, _ xStride: Int, _ y: UnsafeMutablePointer<Float>,
                              _ yStride: Int, _ accumulate: Bool) {
        for r in rows {
            let s = x + r * xStride, d = y + r * yStride
            if accumulate { for c in 0..<cols { d[c] += s[c] } } else { d.update(from: s, count: cols) }
        }
    }
    public func maxAbsDifference(count: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>) -> Float {
        Self.maxAbsDifferenceLoop(0..<count, a, b)
    }
    public func sgdUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>?,
                          lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool) {
        Self.sgdLoop(0..<count, w, g, v, lr, momentum, weightDecay, nesterov)
    }
    public func adamUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                           v: UnsafeMutablePointer<Float>, lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                           c1: Float, c2: Float) {
        Self.adamLoop(0..<count, w, g, m, v, lr, beta1, beta2, eps, weightDecay, c1, c2)
    }

    // The update and reduction loops, shared with the fast backend (which runs them in chunks).

    static func sumOfSquaresLoop(_ r: Range<Int>, _ x: UnsafePointer<Float>) -> Double {
        var s = 0.0
        for i in r { s += Double(x[i]) * Double(x[i]) }
        return s
    }

    static func maxAbsDifferenceLoop(_ r: Range<Int>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        var d: Float = 0
        for i in r {
            let e = abs(a[i] - b[i])
            if e.isNaN { return .nan }
            if e > d { d = e }
        }
        return d
    }

    @inline(__always)
    static func sgdLoop(_ r: Range<Int>, _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>?,
                        _ lr: Float, _ momentum: Float, _ weightDecay: Float, _ nesterov: Bool) {
        guard let v else { for j in r { w[j] -= lr * (g[j] + weightDecay * w[j]) }; return }
        for j in r {
            let d = g[j] + weightDecay * w[j]
            v[j] = momentum * v[j] + d
            w[j] -= lr * (nesterov ? d + momentum * v[j] : v[j])
        }
    }

    @inline(__always)
    static func adamLoop(_ r: Range<Int>, _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                         _ v: UnsafeMutablePointer<Float>, _ lr: Float, _ beta1: Float, _ beta2: Float, _ eps: Float,
                         _ weightDecay: Float, _ c1: Float, _ c2: Float) {
        for j in r {
            let d = g[j] + weightDecay * w[j]
            m[j] = beta1 * m[j] + (1 - beta1) * d
            v[j] = beta2 * v[j] + (1 - beta2) * d * d
            w[j] -= lr * (m[j] / c1) / ((v[j] / c2).squareRoot() + eps)
        }
    }

    // Elementwise loops, shared with the fast backend (which runs them in parallel chunks).

    @inline(__always)
    static func unaryLoop(_ op: UnaryOp, range: Range<Int>, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        switch op {
        case .relu: for i in range { y[i] = x[i] > 0 ? x[i] : 0 }
        case .tanh: for i in range { y[i] = Foundation.tanh(x[i]) }
        case .sigmoid: for i in range { y[i] = 1 / (1 + Foundation.exp(-x[i])) }
        }
    }

    @inline(__always)
    static func unaryBackwardLoop(_ op: UnaryOp, range: Range<Int>, dx: UnsafeMutablePointer<Float>,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>) {
        switch op {
        case .relu: for i in range { dx[i] += x[i] > 0 ? dy[i] : 0 }
        case .tanh: for i in range { dx[i] += dy[i] * (1 - y[i] * y[i]) }
        case .sigmoid: for i in range { dx[i] += dy[i] * y[i] * (1 - y[i]) }
        }
    }

    @inline(__always)
    static func binaryLoop(_ op: BinaryOp, range: Range<Int>, z: UnsafeMutablePointer<Float>,
                           a: UnsafePointer<Float>, b: UnsafePointer<Float>) {
        switch op {
        case .add: for i in range { z[i] = a[i] + b[i] }
        case .sub: for i in range { z[i] = a[i] - b[i] }
        case .mul: for i in range { z[i] = a[i] * b[i] }
        }
    }
}
