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
