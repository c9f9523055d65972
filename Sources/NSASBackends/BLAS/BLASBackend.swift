import CBLAS
import Foundation
import NSASKernels

/// The fast CPU backend: OpenBLAS `cblas_sgemm` for convolutions and linear layers, direct loops
/// for depthwise convolution, pooling, batch norm and elementwise work, all cores used.
///
/// OpenBLAS runs single-threaded here and this backend splits the work itself: every kernel is
/// one parallel loop over images, channels or rows, so BLAS calls never nest thread pools.
public final class BLASBackend: Backend, @unchecked Sendable {
    public static let shared = BLASBackend()
    /// The OpenBLAS core check ran before any BLAS call made through this backend.
    public let core: OpenBLASCore.Status

    public init() {
        core = OpenBLASCore.status
        Threads.settleOpenBLAS()
    }
    public var name: String { "blas" }

    // MARK: gemm

    /// One single-threaded sgemm call.
    @inline(__always)
    static func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                      _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Split the larger output dimension across workers; each part is an independent sgemm.
        let cost = max(1, k)
        if m >= n {
            Parallel.forRanges(m, costPerItem: n * cost) { r in
                let aPart = transA ? a + r.lowerBound : a + r.lowerBound * lda
                Self.sgemm(transA, transB, r.count, n, k, alpha, aPart, lda, b, ldb, beta, c + r.lowerBound * ldc, ldc)
            }
        } else {
            Parallel.forRanges(n, costPerItem: m * cost) { r in
                let bPart = transB ? b + r.lowerBound * ldb : b + r.lowerBound
                Self.sgemm(transA, transB, m, r.count, k, alpha, a, lda, bPart, ldb, beta, c + r.lowerBound, ldc)
            }
        }
    }

    // MARK: elementwise

    // ReLU and the binary ops run vectorised C loops; tanh and sigmoid the reference loops.
    // Large arrays are split across the cores.

    public func unary(_ op: UnaryOp, count: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        Parallel.forRanges(count, costPerItem: op == .relu ? 1 : 8) { r in
            if op == .relu { nsas_relu(y + r.lowerBound, x + r.lowerBound, r.count) }
            else { ReferenceBackend.unaryLoop(op, range: r, y: y, x: x) }
        }
    }

    public func unaryBackward(_ op: UnaryOp, count: Int, dx: UnsafeMutablePointer<Float>,
                              dy: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>) {
        Parallel.forRanges(count) { r in
            if op == .relu { nsas_relu_backward_add(dx + r.lowerBound, dy + r.lowerBound, x + r.lowerBound, r.count) }
            else { ReferenceBackend.unaryBackwardLoop(op, range: r, dx: dx, dy: dy, x: x, y: y) }
        }
    }

    public func binary(_ op: BinaryOp, count: Int, z: UnsafeMutablePointer<Float>,
                       a: UnsafePointer<Float>, b: UnsafePointer<Float>) {
        Parallel.forRanges(count) { r in
            let (zz, aa, bb, n) = (z + r.lowerBound, a + r.lowerBound, b + r.lowerBound, r.count)
            switch op {
            case .add: nsas_add(zz, aa, bb, n)
            case .sub: nsas_sub(zz, aa, bb, n)
            case .mul: nsas_mul(zz, aa, bb, n)
            }
        }
    }

    public func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(count) { r in nsas_axpy(y + r.lowerBound, x + r.lowerBound, alpha, r.count) }
    }

    public func fill(count: Int, value: Float, y: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(count) { r in (y + r.lowerBound).update(repeating: value, count: r.count) }
    }
    public func copy(count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(count) { r in (y + r.lowerBound).update(from: x + r.lowerBound, count: r.count) }
    }
    public func scale(count: Int, alpha: Float, y: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(count) { r in for i in r { y[i] *= alpha } }
    }
    public func addScalar(count: Int, value: Float, y: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(count) { r in for i in r { y[i] += value } }
    }
    /// Chunk sums combined in chunk order: the result depends only on the thread count.
    public func sumOfSquares(count: Int, x: UnsafePointer<Float>) -> Double {
        let n = Parallel.chunks(count)
        var parts = [Double](repeating: 0, count: n)
        parts.withUnsafeMutableBufferPointer { p in
            let out = p.baseAddress!
            Parallel.forChunks(count) { c, r in out[c] = ReferenceBackend.sumOfSquaresLoop(r, x) }
        }
        return parts.reduce(0, +)
    }
    public func copyBlock(rows: Int, cols: Int, x: UnsafePointer<Float>, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                          accumulate: Bool) {
        Parallel.forRanges(rows, costPerItem: max(1, cols)) { r in ReferenceBackend.copyBlockLoop(r, cols, x, xStride, y, yStride, accumulate) }
    }
    public func addBlock(rows: Int, cols: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, zStride: Int) {
        Parallel.forRanges(rows, costPerItem: max(1, cols)) { r in
            for i in r { nsas_add(z + i * zStride, a + i * cols, b + i * cols, cols) }
        }
    }
    /// Sequential (a loss or a mean: the value must not depend on the thread count).
    public func sum(count: Int, x: UnsafePointer<Float>) -> Double { ReferenceBackend.sumLoop(0..<count, x) }
    public func maxAbsDifference(count: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>) -> Float {
        ReferenceBackend.maxAbsDifferenceLoop(0..<count, a, b)
    }
    public func sgdUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>?,
                          lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool) {
        Parallel.forRanges(count) { r in ReferenceBackend.sgdLoop(r, w, g, v, lr, momentum, weightDecay, nesterov) }
    }
    public func adamUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                           v: UnsafeMutablePointer<Float>, lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                           c1: Float, c2: Float) {
        Parallel.forRanges(count) { r in ReferenceBackend.adamLoop(r, w, g, m, v, lr, beta1, beta2, eps, weightDecay, c1, c2) }
    }
}
