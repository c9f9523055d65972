/// The definitions of the fused ops' entry points (a backend overrides the ones it does image
/// by image): a depthwise convolution then a 1x1 one, and a convolution, that pair or a pool
/// followed by training-mode batch norm without affine parameters normalised in place.
extension Backend {
    /// The definition (`depthwisePointwiseApart`).
    public func depthwisePointwiseForward(_ gd: ConvGeometry, _ gp: ConvGeometry, y: UnsafeMutablePointer<Float>,
                                          mid: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, wd: UnsafePointer<Float>,
                                          wp: UnsafePointer<Float>, scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) {
        depthwisePointwiseApart(gd, gp, y: y, mid: mid, x: x, wd: wd, wp: wp, scale: scale, shift: shift)
    }

    /// depthwisePointwiseForward as its definition: the depthwise convolution over the batch, then
    /// the 1x1 one.
    public func depthwisePointwiseApart(_ gd: ConvGeometry, _ gp: ConvGeometry, y: UnsafeMutablePointer<Float>,
                                        mid: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, wd: UnsafePointer<Float>,
                                        wp: UnsafePointer<Float>, scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) {
        let t = mid ?? UnsafeMutablePointer<Float>.allocate(capacity: gp.n * gp.cIn * gp.h * gp.w)
        defer { if mid == nil { t.deallocate() } }
        conv2dForward(gd, y: t, x: x, w: wd)
        if let scale, let shift { conv2dForwardAffine(gp, y: y, x: t, w: wp, scale: scale, shift: shift) }
        else { conv2dForward(gp, y: y, x: t, w: wp) }
    }

    /// The definition (`depthwisePointwiseBackwardApart`).
    public func depthwisePointwiseBackward(_ a: DepthwisePointwiseGradients) { depthwisePointwiseBackwardApart(a) }

    /// depthwisePointwiseBackward as its definition: the 1x1 convolution's gradients over the
    /// batch (mid's into dmid), then the depthwise convolution's.
    public func depthwisePointwiseBackwardApart(_ a: DepthwisePointwiseGradients) {
        conv2dBackward(a.gp, dx: a.dmid, accumulate: false, dw: a.dwp, dy: a.dy, w: a.wp, x: a.mid)
        conv2dBackward(a.gd, dx: a.dx, accumulate: a.accumulate, dw: a.dwd, dy: UnsafePointer(a.dmid), w: a.wd, x: a.x)
    }

    /// The definition (`depthwisePointwiseBatchNormBackwardApart`).
    public func depthwisePointwiseBatchNormBackward(_ a: DepthwisePointwiseGradients, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                                    dconv: UnsafeMutablePointer<Float>) {
        depthwisePointwiseBatchNormBackwardApart(a, xhat: xhat, invStd: invStd, dconv: dconv)
    }

    /// depthwisePointwiseBatchNormBackward as its definition: batch norm's input gradient over the
    /// batch into dconv (batchNormBackward with x-hat as the input: mean 0, invStd 1, and invStd
    /// as the gain), then depthwisePointwiseBackward from there.
    public func depthwisePointwiseBatchNormBackwardApart(_ a: DepthwisePointwiseGradients, xhat: UnsafePointer<Float>,
                                                         invStd: UnsafePointer<Float>, dconv: UnsafeMutablePointer<Float>) {
        batchNormInPlaceBackward(n: a.gp.n, c: a.gp.cOut, s: a.gp.outH * a.gp.outW, dx: dconv, dy: a.dy, xhat: xhat, invStd: invStd)
        var convGradients = a
        convGradients.dy = UnsafePointer(dconv)
        depthwisePointwiseBackward(convGradients)
    }

    /// The definition (`convBatchNormBackwardApart`).
    public func convBatchNormBackward(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dw: UnsafeMutablePointer<Float>?,
                                      dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                      dconv: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        convBatchNormBackwardApart(g, dx: dx, accumulate: accumulate, dw: dw, dy: dy, xhat: xhat, invStd: invStd, dconv: dconv, w: w, x: x)
    }

    /// convBatchNormBackward as its definition: batch norm's input gradient over the batch into
    /// dconv, then conv2dBackward from there.
    public func convBatchNormBackwardApart(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                                           dw: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>,
                                           invStd: UnsafePointer<Float>, dconv: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>,
                                           x: UnsafePointer<Float>) {
        batchNormInPlaceBackward(n: g.n, c: g.cOut, s: g.outH * g.outW, dx: dconv, dy: dy, xhat: xhat, invStd: invStd)
        conv2dBackward(g, dx: dx, accumulate: accumulate, dw: dw, dy: UnsafePointer(dconv), w: w, x: x)
    }

    /// The input gradient (into dx, overwritten unless `accumulate`) of training-mode batch norm
    /// without affine parameters normalised in place, over (n, c, s): x is gone, the output is
    /// x-hat itself, so batchNormBackward with x-hat as the input (mean 0, invStd 1) and invStd as
    /// the gain in gamma's place.
    public func batchNormInPlaceBackward(n: Int, c: Int, s: Int, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                         xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>, accumulate: Bool = false) {
        let zero = UnsafeMutablePointer<Float>.allocate(capacity: c), one = UnsafeMutablePointer<Float>.allocate(capacity: c)
        defer { zero.deallocate(); one.deallocate() }
        zero.initialize(repeating: 0, count: c)
        one.initialize(repeating: 1, count: c)
        batchNormBackward(n: n, c: c, s: s, dx: dx, dgamma: nil, dbeta: nil, dy: dy, x: xhat, mean: zero, invStd: one, gamma: invStd,
                          accumulate: accumulate)
    }

    /// The definition (`poolBatchNormBackwardApart`).
    public func poolBatchNormBackward(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                      xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>, dpool: UnsafeMutablePointer<Float>,
                                      x: UnsafePointer<Float>) {
        poolBatchNormBackwardApart(g, dx: dx, dy: dy, xhat: xhat, invStd: invStd, dpool: dpool, x: x)
    }

    /// poolBatchNormBackward as its definition: batch norm's input gradient over the batch into
    /// dpool, then pool2dBackward from there.
    public func poolBatchNormBackwardApart(_ g: PoolGeometry, dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                           xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>, dpool: UnsafeMutablePointer<Float>,
                                           x: UnsafePointer<Float>) {
        batchNormInPlaceBackward(n: g.n, c: g.c, s: g.outH * g.outW, dx: dpool, dy: dy, xhat: xhat, invStd: invStd)
        pool2dBackward(g, dx: dx, dy: UnsafePointer(dpool), x: x)
    }
}

/// What the gradients of `depthwisePointwiseForward` take: the two geometries, dy (y's
/// gradient), mid (the depthwise output the forward pass kept), x and the weights; dx
/// (overwritten unless `accumulate`), dwd and dwp (added to) where not nil; dmid, scratch for
/// mid's gradient (gp's input size), which a backend working image by image may leave unused.
public struct DepthwisePointwiseGradients {
    public var gd: ConvGeometry, gp: ConvGeometry
    public var dx: UnsafeMutablePointer<Float>?, accumulate: Bool
    public var dwd: UnsafeMutablePointer<Float>?, dwp: UnsafeMutablePointer<Float>?
    public var dy: UnsafePointer<Float>, mid: UnsafePointer<Float>, dmid: UnsafeMutablePointer<Float>
    public var x: UnsafePointer<Float>, wd: UnsafePointer<Float>, wp: UnsafePointer<Float>
    public init(_ gd: ConvGeometry, _ gp: ConvGeometry, dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dwd: UnsafeMutablePointer<Float>?,
                dwp: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, mid: UnsafePointer<Float>, dmid: UnsafeMutablePointer<Float>,
                x: UnsafePointer<Float>, wd: UnsafePointer<Float>, wp: UnsafePointer<Float>) {
        (self.gd, self.gp, self.dx, self.accumulate, self.dwd, self.dwp) = (gd, gp, dx, accumulate, dwd, dwp)
        (self.dy, self.mid, self.dmid, self.x, self.wd, self.wp) = (dy, mid, dmid, x, wd, wp)
    }
}
