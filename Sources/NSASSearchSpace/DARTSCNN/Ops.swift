import NSASTensor

/// One op of a cell edge (or a preprocessing step): a layer with a forward pass.
public protocol CellOp: Layer {
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor
}

/// ReLU, convolution, BN.
public final class ReLUConvBN: CellOp {
    let w: Tensor; let bn: BatchNorm; let stride: Int, pad: Int
    public init(_ cIn: Int, _ cOut: Int, kernel: Int, stride: Int, pad: Int, affine: Bool, rng: inout RNG) {
        w = convWeight(cOut, cIn, kernel, &rng); bn = BatchNorm(cOut, affine: affine); self.stride = stride; self.pad = pad
    }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try bn.afterConv(x, w, stride: stride, padding: pad, reluInput: true, ctx)
    }
    public var parameters: [Tensor] { [w] + bn.parameters }
    public func named(_ p: String) -> [(String, Tensor)] { [("\(p).conv.weight", w)] + bn.named("\(p).bn") }
}

/// ReLU, depthwise convolution (dilation d), pointwise convolution, BN.
public final class DilConv: CellOp {
    let dw: Tensor, pw: Tensor; let bn: BatchNorm; let stride: Int, pad: Int, dilation: Int
    public init(_ cIn: Int, _ cOut: Int, kernel: Int, stride: Int, pad: Int, dilation: Int, affine: Bool, rng: inout RNG) {
        dw = convWeight(cIn, 1, kernel, &rng); pw = convWeight(cOut, cIn, 1, &rng)
        bn = BatchNorm(cOut, affine: affine); self.stride = stride; self.pad = pad; self.dilation = dilation
    }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try bn.afterDepthwisePointwise(x, dw, pw, stride: stride, padding: pad, dilation: dilation, ctx)
    }
    public var parameters: [Tensor] { [dw, pw] + bn.parameters }
    public func named(_ p: String) -> [(String, Tensor)] {
        [("\(p).depthwise.weight", dw), ("\(p).pointwise.weight", pw)] + bn.named("\(p).bn")
    }
}

/// Two DilConv-like halves with dilation 1, the first carrying the stride (DARTS SepConv).
public final class SepConv: CellOp {
    let first: DilConv, second: DilConv
    public init(_ cIn: Int, _ cOut: Int, kernel: Int, stride: Int, pad: Int, affine: Bool, rng: inout RNG) {
        first = DilConv(cIn, cIn, kernel: kernel, stride: stride, pad: pad, dilation: 1, affine: affine, rng: &rng)
        second = DilConv(cIn, cOut, kernel: kernel, stride: 1, pad: pad, dilation: 1, affine: affine, rng: &rng)
    }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try second.forward(first.forward(x, ctx), ctx)
    }
    public var parameters: [Tensor] { first.parameters + second.parameters }
    public func named(_ p: String) -> [(String, Tensor)] { first.named("\(p).0") + second.named("\(p).1") }
}

/// Halves the resolution without losing pixels: ReLU, two 1x1 stride-2 convolutions (the second
/// on the input shifted by one pixel), concatenated to C/2 + C/2 channels, BN.
public final class FactorizedReduce: CellOp {
    let w1: Tensor, w2: Tensor; let bn: BatchNorm
    public init(_ cIn: Int, _ cOut: Int, affine: Bool, rng: inout RNG) {
        precondition(cOut % 2 == 0, "FactorizedReduce needs an even number of output channels")
        w1 = convWeight(cOut / 2, cIn, 1, &rng); w2 = convWeight(cOut / 2, cIn, 1, &rng); bn = BatchNorm(cOut, affine: affine)
    }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        // relu(x) then two stride-2 1x1 convolutions, the second on x shifted by one pixel (ReLU
        // fused), concatenated; their output is the BN's alone. factorizedReduce checks the shape
        // (an even height and width).
        return try bn(x.factorizedReduce(w1, w2, reluInput: true), ctx, overwritingInput: true)
    }
    public var parameters: [Tensor] { [w1, w2] + bn.parameters }
    public func named(_ p: String) -> [(String, Tensor)] {
        [("\(p).conv_1.weight", w1), ("\(p).conv_2.weight", w2)] + bn.named("\(p).bn")
    }
}

/// 3x3 max or average pooling (padding 1, average not counting padding), followed by a
/// non-affine BN in the search network.
public final class PoolOp: CellOp {
    let isMax: Bool, stride: Int; let bn: BatchNorm?
    public init(max: Bool, channels: Int, stride: Int, withBN: Bool) {
        isMax = max; self.stride = stride; bn = withBN ? BatchNorm(channels, affine: false) : nil
    }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        if let bn { return try bn.afterPool(x, max: isMax, stride: stride, ctx) }
        return isMax ? try x.maxPool2d(kernel: 3, stride: stride, padding: 1) : try x.avgPool2d(kernel: 3, stride: stride, padding: 1)
    }
    public var parameters: [Tensor] { bn?.parameters ?? [] }
    public func named(_ p: String) -> [(String, Tensor)] { bn?.named("\(p).bn") ?? [] }
}

/// The identity (skip_connect at stride 1).
public final class IdentityOp: CellOp {
    public init() {}
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor { x }
    public var parameters: [Tensor] { [] }
    public func named(_ p: String) -> [(String, Tensor)] { [] }
}

/// `none`: zeros, subsampled at stride 2. Cells skip it in sums; this is for completeness.
public final class ZeroOp: CellOp {
    let stride: Int
    public init(stride: Int) { self.stride = stride }
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        Tensor(zeros: [x.shape[0], x.shape[1], (x.shape[2] + stride - 1) / stride, (x.shape[3] + stride - 1) / stride])
    }
    public var parameters: [Tensor] { [] }
    public func named(_ p: String) -> [(String, Tensor)] { [] }
}

extension Primitive {
    /// Builds the op for an edge with C channels. `search` adds the BN after pools (DARTS search network).
    public func make(channels c: Int, stride: Int, affine: Bool, search: Bool, rng: inout RNG) -> CellOp {
        switch self {
        case .none: return ZeroOp(stride: stride)
        case .maxPool3x3: return PoolOp(max: true, channels: c, stride: stride, withBN: search)
        case .avgPool3x3: return PoolOp(max: false, channels: c, stride: stride, withBN: search)
        case .skipConnect: return stride == 1 ? IdentityOp() : FactorizedReduce(c, c, affine: affine, rng: &rng)
        case .sepConv3x3: return SepConv(c, c, kernel: 3, stride: stride, pad: 1, affine: affine, rng: &rng)
        case .sepConv5x5: return SepConv(c, c, kernel: 5, stride: stride, pad: 2, affine: affine, rng: &rng)
        case .dilConv3x3: return DilConv(c, c, kernel: 3, stride: stride, pad: 2, dilation: 2, affine: affine, rng: &rng)
        case .dilConv5x5: return DilConv(c, c, kernel: 5, stride: stride, pad: 4, dilation: 2, affine: affine, rng: &rng)
        }
    }
}
