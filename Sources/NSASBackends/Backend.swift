/// The kernel interface every tensor op runs through.
///
/// Buffers are flat float32 arrays in row-major order; images are NCHW. Arguments go outputs,
/// inputs, then sizes' geometry (as in llm.c). Kernels whose name ends in `Backward` **add**
/// into their gradient outputs, so gradients accumulate across paths that share weights.
///
/// `ReferenceBackend` is the definition of every kernel; faster backends are tested against it.
public protocol Backend: AnyObject, Sendable {
    /// Short name used on the command line (`reference`, `blas`).
    var name: String { get }

    /// c[m,n] = alpha * op(a)[m,k] * op(b)[k,n] + beta * c, row-major, op = transpose when set.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)

    /// y (N,Cout,OH,OW) = conv(x (N,Cin,H,W), w (Cout,Cin/groups,KH,KW)); overwrites y.
    /// With `g.reluInput` the convolution reads relu(x) (the ReLU before every DARTS convolution, fused).
    func conv2dForward(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>,
                       x: UnsafePointer<Float>, w: UnsafePointer<Float>)
    /// y = conv(x, w) * scale[c] + shift[c] per output channel c: a convolution followed by
    /// evaluation-mode batch norm, in one pass where the backend can (the default runs the two).
    func conv2dForwardAffine(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                             scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)
    /// y = log-softmax of each row of x (rows, c): x - max - log(sum(exp(x - max))).
    func logSoftmax(rows: Int, c: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>)
    /// dx += dy - exp(y) * sum(dy) per row, y the log-softmax output.
    func logSoftmaxBackward(rows: Int, c: Int, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>)
    /// dx += conv^T(dy, w), times (x > 0) with `g.reluInput`.
    func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                            dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>)
    /// The same, overwriting dx (every element) instead of adding when `accumulate` is false.
    func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                            dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, accumulate: Bool)
    /// dw += correlation of x (relu(x) with `g.reluInput`) with dy
    func conv2dBackwardWeight(_ g: ConvGeometry, dw: UnsafeMutablePointer<Float>,
                              x: UnsafePointer<Float>, dy: UnsafePointer<Float>)
    /// y = conv(gp, conv(gd, x, wd), wp) [* scale + shift per output channel]: a depthwise
    /// convolution `gd` followed by a 1x1 convolution `gp` of its output; `mid` receives the
    /// depthwise output when given (for the gradients). Image by image where the backend can.
    func depthwisePointwiseForward(_ gd: ConvGeometry, _ gp: ConvGeometry, y: UnsafeMutablePointer<Float>, mid: UnsafeMutablePointer<Float>?,
                                   x: UnsafePointer<Float>, wd: UnsafePointer<Float>, wp: UnsafePointer<Float>,
                                   scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?)
    /// Its gradients (`DepthwisePointwiseGradients`).
    func depthwisePointwiseBackward(_ a: DepthwisePointwiseGradients)
    /// The gradients of depthwisePointwiseForward followed by training-mode batch norm without
    /// affine parameters, normalised in place: `a.dy` is the normalised output's gradient, xhat
    /// that output and invStd the batch's 1 / sqrt(variance + eps) per channel; the convolution
    /// output's gradient invStd * (dy - mean(dy) - xhat * mean(dy * xhat)) (per channel, over the
    /// batch) goes into the scratch dconv (gp's output size) or stays in cache image by image;
    /// then as depthwisePointwiseBackward.
    func depthwisePointwiseBatchNormBackward(_ a: DepthwisePointwiseGradients, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                             dconv: UnsafeMutablePointer<Float>)
    /// The same for a convolution (`conv2dForward`) followed by that batch norm: dx (overwritten
    /// unless `accumulate`) and dw (added to) where not nil; the convolution output's gradient
    /// into the scratch dconv or, image by image, kept in cache.
    func convBatchNormBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                               dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                               dconv: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>)
    /// FactorizedReduce's convolutions: y (N, c1 + c2, OH, OW) = the stride-2 1x1 convolution `g`
    /// of x by w1 (c1 outputs), then that of x shifted by one pixel (from row and column 1) by w2
    /// (c2 outputs, the same inputs), along channels; ReLU on x with `g.reluInput`. H and W even.
    func factorizedReduceForward(_ g: ConvGeometry, c2: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                 w1: UnsafePointer<Float>, w2: UnsafePointer<Float>)
    /// Its gradients, the ones not nil: dx (overwritten unless `accumulate`), dw1 and dw2 added to.
    func factorizedReduceBackward(_ g: ConvGeometry, c2: Int, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                                  dw1: UnsafeMutablePointer<Float>?, dw2: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w1: UnsafePointer<Float>, w2: UnsafePointer<Float>)
    /// Both gradients of a convolution, the ones not nil: conv2dBackwardData into dx (overwriting
    /// it unless `accumulate`) and conv2dBackwardWeight into dw, in one pass where the backend can.
    func conv2dBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                        dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>)

    /// y (N,C,OH,OW) = pool(x (N,C,H,W)); overwrites y. Average pooling divides by the number
    /// of taps inside the image (padding is not counted).
    func pool2dForward(_ g: PoolGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>)
    /// dx += d pool / dx * dy. Max pooling routes to the first maximal tap (row-major order).
    func pool2dBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>,
                        dy: UnsafePointer<Float>, x: UnsafePointer<Float>)

    /// The gradient of pool2dForward followed by training-mode batch norm without affine
    /// parameters normalised in place (as depthwisePointwiseBatchNormBackward), added to dx; the
    /// pool output's gradient into the scratch dpool or, a few planes at a time, kept in cache.
    func poolBatchNormBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>,
                               invStd: UnsafePointer<Float>, dpool: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>)

    /// Per-channel statistics of x (N,C,S): mean and biased variance, written to mean/variance (C).
    func channelMoments(n: Int, c: Int, s: Int, mean: UnsafeMutablePointer<Float>,
                        variance: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>)
    /// y = (x - mean[c]) * scale[c] + shift[c]; the affine form of batch-norm's normalisation.
    func channelAffine(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                       scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, mean: UnsafePointer<Float>)
    /// Training-mode batch norm in one call: each channel's batch statistics (mean and biased
    /// variance, as channelMoments) and y = (x - mean) * scale + shift with scale = gamma / sqrt(variance
    /// + eps), shift = beta (gamma nil = 1, beta nil = 0), as channelAffine. y may be x (normalised in
    /// place). A backend may normalise each channel while its planes are in cache.
    func batchNormTrainingForward(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                  mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, eps: Float,
                                  gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?)
    /// Batch-norm backward with batch statistics, xhat = (x - mean) * invStd:
    /// dx += gamma*invStd*(dy - mean(dy) - xhat*mean(dy*xhat)) (gamma nil = 1),
    /// dgamma += sum(dy*xhat), dbeta += sum(dy) where given.
    func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                           dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                           dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                           invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?)
    /// The same, overwriting dx instead of adding when `accumulate` is false.
    func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                           dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                           dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                           invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, accumulate: Bool)

    /// y = f(x) elementwise.
    func unary(_ op: UnaryOp, count: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>)
    /// dx += f'(x) * dy, with y = f(x) given for the ops whose derivative is cheaper from it.
    func unaryBackward(_ op: UnaryOp, count: Int, dx: UnsafeMutablePointer<Float>,
                       dy: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>)
    /// z = a (op) b elementwise, same length.
    func binary(_ op: BinaryOp, count: Int, z: UnsafeMutablePointer<Float>,
                a: UnsafePointer<Float>, b: UnsafePointer<Float>)
    /// y += alpha * x
    func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)

    // Data movement and optimiser updates: every operation the engine, the optimisers and the
    // trainers perform on tensor data goes through these (a device backend keeps data on its device).

    /// y = value
    func fill(count: Int, value: Float, y: UnsafeMutablePointer<Float>)
    /// y = x (x from host memory or another tensor)
    func copy(count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)
    /// y *= alpha
    func scale(count: Int, alpha: Float, y: UnsafeMutablePointer<Float>)
    /// y += value (the gradient of a sum)
    func addScalar(count: Int, value: Float, y: UnsafeMutablePointer<Float>)
    /// y[r * yStride + c] = x[r * xStride + c] (or += with `accumulate`) for r < rows, c < cols:
    /// slices, concatenation, crops and reshapes, and their gradients.
    func copyBlock(rows: Int, cols: Int, x: UnsafePointer<Float>, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                   accumulate: Bool)
    /// z[r * zStride + c] = a[r * cols + c] + b[r * cols + c] for r < rows, c < cols: a sum
    /// written straight into its block of a concatenation (a cell node that no later node reads).
    func addBlock(rows: Int, cols: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, zStride: Int)
    /// The sum of x[i], accumulated in double.
    func sum(count: Int, x: UnsafePointer<Float>) -> Double
    /// The sum of x[i]^2, accumulated in double.
    func sumOfSquares(count: Int, x: UnsafePointer<Float>) -> Double
    /// The largest |a[i] - b[i]| (NaN when any difference is NaN).
    func maxAbsDifference(count: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>) -> Float
    /// One SGD step with PyTorch's rule: d = g + weightDecay * w; with momentum v = momentum * v + d
    /// and d = nesterov ? d + momentum * v : v; w -= lr * d. `v` is nil without momentum.
    func sgdUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>?,
                   lr: Float, momentum: Float, weightDecay: Float, nesterov: Bool)
    /// One Adam step: d = g + weightDecay * w; m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    /// w -= lr * (m / c1) / (sqrt(v / c2) + eps), c1 and c2 the bias corrections.
    func adamUpdate(count: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                    v: UnsafeMutablePointer<Float>, lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                    c1: Float, c2: Float)
}

public enum UnaryOp: String, Sendable, CaseIterable {
    case relu, tanh, sigmoid
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add, sub, mul
}

/// Geometry of a 2-D convolution over NCHW data.
public struct ConvGeometry: Hashable, Sendable {
    public var n, cIn, h, w, cOut, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, groups: Int
    /// The convolution reads relu(x) instead of x.
    public var reluInput: Bool
    public init(n: Int, cIn: Int, h: Int, w: Int, cOut: Int, kH: Int, kW: Int,
                stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, reluInput: Bool = false) {
        self.n = n; self.cIn = cIn; self.h = h; self.w = w; self.cOut = cOut; self.kH = kH; self.kW = kW
        strideH = stride; strideW = stride; padH = padding; padW = padding
        dilationH = dilation; dilationW = dilation; self.groups = groups; self.reluInput = reluInput
    }
    public var outH: Int { (h + 2 * padH - dilationH * (kH - 1) - 1) / strideH + 1 }
    public var outW: Int { (w + 2 * padW - dilationW * (kW - 1) - 1) / strideW + 1 }
    public var cInPerGroup: Int { cIn / groups }
    public var cOutPerGroup: Int { cOut / groups }
    public var isDepthwise: Bool { groups == cIn && groups == cOut }
    public var weightCount: Int { cOut * cInPerGroup * kH * kW }
    /// Multiply-adds times two.
    public var multiplyAdds: Int { n * cOut * outH * outW * cInPerGroup * kH * kW }
    public var flops: Double { 2.0 * Double(multiplyAdds) }

    /// Checks sizes; returns a description of the first problem, nil when valid.
    public func problem() -> String? {
        if n < 1 || cIn < 1 || h < 1 || w < 1 || cOut < 1 || kH < 1 || kW < 1 { return "sizes must be positive" }
        if strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 { return "stride and dilation must be >= 1" }
        if padH < 0 || padW < 0 { return "padding must be >= 0" }
        if groups < 1 || cIn % groups != 0 || cOut % groups != 0 {
            return "groups \(groups) must divide input channels \(cIn) and output channels \(cOut)"
        }
        if outH < 1 || outW < 1 { return "kernel \(kH)x\(kW) (dilation \(dilationH)) does not fit a \(h)x\(w) input with padding \(padH)" }
        return nil
    }
}

public enum PoolKind: String, Sendable { case max, average }

/// Geometry of a 2-D pooling window over NCHW data.
public struct PoolGeometry: Hashable, Sendable {
    public var kind: PoolKind
    public var n, c, h, w, k, stride, pad: Int
    public init(kind: PoolKind, n: Int, c: Int, h: Int, w: Int, kernel: Int, stride: Int, padding: Int) {
        self.kind = kind; self.n = n; self.c = c; self.h = h; self.w = w
        k = kernel; self.stride = stride; pad = padding
    }
    public var outH: Int { (h + 2 * pad - k) / stride + 1 }
    public var outW: Int { (w + 2 * pad - k) / stride + 1 }
    public func problem() -> String? {
        if n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || stride < 1 { return "sizes must be positive" }
        if pad < 0 || pad > k / 2 { return "padding \(pad) must be between 0 and half the kernel \(k)" }
        if outH < 1 || outW < 1 { return "kernel \(k) does not fit a \(h)x\(w) input" }
        return nil
    }
}

/// Which backend a run uses.
public enum BackendKind: String, CaseIterable, Sendable {
    case reference, blas

    public func make() -> any Backend {
        switch self {
        case .reference: return ReferenceBackend.shared
        case .blas: return BLASBackend.shared
        }
    }
    /// The default: the fast backend.
    public static let `default`: BackendKind = .blas
}

extension Backend {
    /// The definition: channelMoments, then channelAffine.
    public func batchNormTrainingForward(n: Int, c: Int, s: Int, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                         mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, eps: Float,
                                         gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?) {
        channelMoments(n: n, c: c, s: s, mean: mean, variance: variance, x: x)
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: 2 * c)
        defer { scale.deallocate() }
        let shift = scale + c
        for ch in 0..<c {
            scale[ch] = batchNormScale(variance: variance[ch], eps: eps, gamma: gamma?[ch])
            shift[ch] = beta?[ch] ?? 0
        }
        channelAffine(n: n, c: c, s: s, y: y, x: x, scale: scale, shift: shift, mean: mean)
    }

    /// The definition: `binary(.add)` row by row.
    public func addBlock(rows: Int, cols: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, zStride: Int) {
        for r in 0..<rows { binary(.add, count: cols, z: z + r * zStride, a: a + r * cols, b: b + r * cols) }
    }

    /// The definition: dx cleared, then the adding form.
    public func conv2dBackwardData(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>,
                                   dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, accumulate: Bool) {
        if !accumulate { dx.update(repeating: 0, count: g.n * g.cIn * g.h * g.w) }
        conv2dBackwardData(g, dx: dx, dy: dy, w: w, x: x)
    }

    /// The definition: the input gradient, then the weight gradient.
    public func conv2dBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                               dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        if let dx { conv2dBackwardData(g, dx: dx, dy: dy, w: w, x: x, accumulate: accumulate) }
        if let dw { conv2dBackwardWeight(g, dw: dw, x: x, dy: dy) }
    }

    /// The definition: dx cleared, then the adding form.
    public func batchNormBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>,
                                  dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                  invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, accumulate: Bool) {
        if !accumulate { dx.update(repeating: 0, count: n * c * s) }
        batchNormBackward(n: n, c: c, s: s, dx: dx, dgamma: dgamma, dbeta: dbeta, dy: dy, x: x, mean: mean, invStd: invStd, gamma: gamma)
    }

    /// The definition: the convolution, then the per-channel affine map.
    public func conv2dForwardAffine(_ g: ConvGeometry, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
        conv2dForward(g, y: y, x: x, w: w)
        let zero = UnsafeMutablePointer<Float>.allocate(capacity: g.cOut)
        defer { zero.deallocate() }
        zero.initialize(repeating: 0, count: g.cOut)
        channelAffine(n: g.n, c: g.cOut, s: g.outH * g.outW, y: y, x: UnsafePointer(y), scale: scale, shift: shift, mean: zero)
    }
}

/// gamma / sqrt(variance + eps) (gamma nil = 1): batch norm's scale, the same float operations
/// wherever it is computed.
@inline(__always)
public func batchNormScale(variance: Float, eps: Float, gamma: Float?) -> Float {
    (1 / (variance + eps).squareRoot()) * (gamma ?? 1)
}
