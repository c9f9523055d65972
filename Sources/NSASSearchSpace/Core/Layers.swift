import NSASTensor

/// What a forward pass needs besides its input: the mode, and the randomness of drop-path.
public final class ForwardContext {
    public var training: Bool
    /// Probability of dropping a whole op output per sample (stand-alone networks only).
    public var dropPath: Float
    public var rng: RNG
    /// Set while recomputing BN statistics for one architecture (`nsas-rank --bn-recalibrate`).
    public var recalibration: BNRecalibration?
    public init(training: Bool, dropPath: Float = 0, rng: RNG = RNG(seed: 0), recalibration: BNRecalibration? = nil) {
        self.training = training; self.dropPath = dropPath; self.rng = rng; self.recalibration = recalibration
    }
}

/// Recomputing the running statistics of the BN layers an architecture uses from a few training
/// batches, as a cumulative average (PyTorch's `momentum=None`): the first batch a layer sees in
/// a session replaces its statistics, the k-th is weighted 1/k. Forward passes run in training
/// mode with this set; afterwards every layer on the path holds the plain mean over the batches.
public final class BNRecalibration {
    var seen: [ObjectIdentifier: Int] = [:]
    public init() {}
    /// Number of batches each touched layer has averaged (the same for all after whole passes).
    public var layers: Int { seen.count }

    func momentum(for stats: BatchNormStats) -> Float {
        let k = seen[ObjectIdentifier(stats), default: 0] + 1
        seen[ObjectIdentifier(stats)] = k
        return 1 / Float(k)
    }
}

/// Something with trainable parameters and named state (parameters and BN running statistics),
/// the names being stable keys for checkpoints.
public protocol Layer: AnyObject {
    /// Trainable tensors.
    var parameters: [Tensor] { get }
    /// Every tensor of state under a dotted name: parameters and buffers (BN running statistics).
    func named(_ prefix: String) -> [(String, Tensor)]
}

extension Layer {
    /// Total number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Batch normalisation with its running statistics, affine or not.
public final class BatchNorm: Layer {
    public let stats: BatchNormStats
    public let gamma: Tensor?, beta: Tensor?

    public init(_ channels: Int, affine: Bool) {
        stats = BatchNormStats(channels: channels)
        if affine {
            gamma = try! Tensor([Float](repeating: 1, count: channels), shape: [channels], requiresGrad: true)
            beta = Tensor(zeros: [channels], requiresGrad: true)
        } else {
            gamma = nil; beta = nil
        }
    }

    /// `overwritingInput`: x is an op's output that nothing else reads (see Tensor.batchNorm).
    public func callAsFunction(_ x: Tensor, _ ctx: ForwardContext, overwritingInput: Bool = false) throws -> Tensor {
        try withMomentum(ctx) { try x.batchNorm(stats, gamma: gamma, beta: beta, training: ctx.training, overwritingInput: overwritingInput) }
    }

    /// body with the statistics' momentum a recalibration sets while it runs in training mode.
    private func withMomentum(_ ctx: ForwardContext, _ body: () throws -> Tensor) rethrows -> Tensor {
        guard let r = ctx.recalibration, ctx.training else { return try body() }
        let saved = stats.momentum
        stats.momentum = r.momentum(for: stats)
        defer { stats.momentum = saved }
        return try body()
    }

    /// This BN after a convolution of x by w: in evaluation mode one fused pass (the
    /// normalisation applied as the convolution writes its output); in training without affine
    /// parameters `Tensor.conv2dBatchNorm` (gradients image by image), else the two ops.
    public func afterConv(_ x: Tensor, _ w: Tensor, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1,
                          reluInput: Bool = false, _ ctx: ForwardContext) throws -> Tensor {
        if ctx.training && gamma == nil {
            return try withMomentum(ctx) {
                try x.conv2dBatchNorm(w, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput,
                                      stats: stats)
            }
        }
        if ctx.training {
            // the convolution's output is this normalisation's alone: normalised in place
            return try self(x.conv2d(w, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput), ctx,
                            overwritingInput: true)
        }
        return try x.conv2dBatchNormEval(w, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput,
                                         stats: stats, gamma: gamma, beta: beta)
    }

    /// This BN after a 3x3 pool (padding 1) of x: in training without affine parameters
    /// `Tensor.poolBatchNorm` (its input gradient a few planes at a time), else the two ops, the
    /// pool's output normalised in place (it is the BN's alone).
    public func afterPool(_ x: Tensor, max isMax: Bool, stride: Int, _ ctx: ForwardContext) throws -> Tensor {
        if ctx.training && gamma == nil {
            return try withMomentum(ctx) { try x.poolBatchNorm(max: isMax, kernel: 3, stride: stride, padding: 1, stats: stats) }
        }
        let y = isMax ? try x.maxPool2d(kernel: 3, stride: stride, padding: 1) : try x.avgPool2d(kernel: 3, stride: stride, padding: 1)
        return try self(y, ctx, overwritingInput: true)
    }

    /// This BN after a ReLU, a depthwise convolution and a 1x1 convolution (DARTS's DilConv and
    /// SepConv halves), the two convolutions image by image (`Tensor.depthwisePointwise`); as
    /// `afterConv`, fused with the normalisation in evaluation mode, and in training without
    /// affine parameters (`Tensor.depthwisePointwiseBatchNorm`: gradients image by image).
    public func afterDepthwisePointwise(_ x: Tensor, _ depthwise: Tensor, _ pointwise: Tensor, stride: Int, padding: Int, dilation: Int,
                                        _ ctx: ForwardContext) throws -> Tensor {
        if ctx.training && gamma == nil {
            return try withMomentum(ctx) {
                try x.depthwisePointwiseBatchNorm(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation,
                                                  reluInput: true, stats: stats)
            }
        }
        if ctx.training {
            return try self(x.depthwisePointwise(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation, reluInput: true),
                            ctx, overwritingInput: true)
        }
        return try x.depthwisePointwiseBatchNormEval(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation,
                                                     reluInput: true, stats: stats, gamma: gamma, beta: beta)
    }

    public var parameters: [Tensor] { [gamma, beta].compactMap { $0 } }

    public func named(_ prefix: String) -> [(String, Tensor)] {
        var out = [("\(prefix).running_mean", stats.runningMean), ("\(prefix).running_var", stats.runningVar)]
        if let gamma, let beta { out += [("\(prefix).weight", gamma), ("\(prefix).bias", beta)] }
        return out
    }
}

/// A convolution weight without bias, PyTorch's default initialisation.
func convWeight(_ cOut: Int, _ cInPerGroup: Int, _ k: Int, _ rng: inout RNG) -> Tensor {
    Tensor.parameter(shape: [cOut, cInPerGroup, k, k], rng: &rng)
}
