import NSASBackends

extension Tensor {
    /// A depthwise convolution of self by `depthwise` (C,1,K,K), ReLU on its input when asked,
    /// followed by a 1x1 convolution by `pointwise` (Cout,C,1,1): the core of DARTS's SepConv and
    /// DilConv. Equals `conv2d(depthwise, ..., groups: C, reluInput:).conv2d(pointwise)`, computed
    /// image by image where the backend can (each image's depthwise output read back from cache).
    public func depthwisePointwise(_ depthwise: Tensor, _ pointwise: Tensor, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                                   reluInput: Bool = false) throws -> Tensor {
        let (gd, gp) = try depthwisePointwiseGeometry(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation,
                                                      reluInput: reluInput)
        let b = Engine.backend
        let wanted = Engine.gradEnabled && (requiresGrad || depthwise.requiresGrad || pointwise.requiresGrad)
        // the depthwise output, kept for the gradients
        let mid = wanted ? Storage(count: gp.n * gp.cIn * gp.h * gp.w, zeroed: false) : nil
        let out = Tensor.result([gp.n, gp.cOut, gp.outH, gp.outW], [self, depthwise, pointwise]) { out in
            guard let mid else { return }
            let dmid = Storage(count: mid.count, zeroed: false)   // untouched where the backend works image by image
            b.depthwisePointwiseBackward(self.gradients(gd, gp, depthwise, pointwise, dy: out.gradPtr, mid: mid, dmid: dmid))
        }
        b.depthwisePointwiseForward(gd, gp, y: out.ptr, mid: mid?.ptr, x: ptr, wd: depthwise.ptr, wp: pointwise.ptr, scale: nil, shift: nil)
        Engine.multiplyAdds?.total += gd.multiplyAdds + gp.multiplyAdds
        return out
    }

    /// depthwisePointwise followed by evaluation-mode batch norm, in one pass where the backend
    /// can: for inference. When a gradient is wanted it runs the two ops.
    public func depthwisePointwiseBatchNormEval(_ depthwise: Tensor, _ pointwise: Tensor, stride: Int = 1, padding: Int = 0,
                                                dilation: Int = 1, reluInput: Bool = false, stats: BatchNormStats,
                                                gamma: Tensor? = nil, beta: Tensor? = nil) throws -> Tensor {
        if Engine.gradEnabled && [self, depthwise, pointwise, gamma, beta].contains(where: { $0?.requiresGrad == true }) {
            return try depthwisePointwise(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation, reluInput: reluInput)
                .batchNorm(stats, gamma: gamma, beta: beta, training: false)
        }
        let (gd, gp) = try depthwisePointwiseGeometry(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation,
                                                      reluInput: reluInput)
        let (scale, shift) = try Self.evalAffine(gp.cOut, stats: stats, gamma: gamma, beta: beta, op: "depthwisePointwiseBatchNormEval")
        let out = Tensor.result([gp.n, gp.cOut, gp.outH, gp.outW], []) { _ in }   // no inputs: nothing recorded
        Engine.backend.depthwisePointwiseForward(gd, gp, y: out.ptr, mid: nil, x: ptr, wd: depthwise.ptr, wp: pointwise.ptr,
                                                 scale: scale, shift: shift)
        Engine.multiplyAdds?.total += gd.multiplyAdds + gp.multiplyAdds
        return out
    }

    /// depthwisePointwise followed by training-mode batch norm without affine parameters (DARTS's
    /// SepConv and DilConv halves while searching): equals `depthwisePointwise(...).batchNorm(stats,
    /// training: true, overwritingInput: true)`, the running statistics moved alike. The backward
    /// pass runs the normalisation's input gradient and the two convolutions' gradients image by
    /// image where the backend can (`Backend.depthwisePointwiseBatchNormBackward`).
    public func depthwisePointwiseBatchNorm(_ depthwise: Tensor, _ pointwise: Tensor, stride: Int = 1, padding: Int = 0,
                                            dilation: Int = 1, reluInput: Bool = false, stats: BatchNormStats) throws -> Tensor {
        let (gd, gp) = try depthwisePointwiseGeometry(depthwise, pointwise, stride: stride, padding: padding, dilation: dilation,
                                                      reluInput: reluInput)
        let c = gp.cOut
        try InPlaceNorm.check(stats, channels: c, images: gp.n, values: gp.outH * gp.outW, op: "depthwisePointwiseBatchNorm")
        let b = Engine.backend
        let wanted = Engine.gradEnabled && (requiresGrad || depthwise.requiresGrad || pointwise.requiresGrad)
        let mid = wanted ? Storage(count: gp.n * gp.cIn * gp.h * gp.w, zeroed: false) : nil
        let norm = InPlaceNorm(channels: c)
        let out = Tensor.result([gp.n, c, gp.outH, gp.outW], [self, depthwise, pointwise]) { out in
            guard let mid else { return }
            // scratch the backend leaves untouched where it works image by image
            let dconv = Storage(count: out.count, zeroed: false), dmid = Storage(count: mid.count, zeroed: false)
            b.depthwisePointwiseBatchNormBackward(self.gradients(gd, gp, depthwise, pointwise, dy: out.gradPtr, mid: mid, dmid: dmid),
                                                  xhat: out.ptr, invStd: norm.invStd.ptr, dconv: dconv.ptr)
        }
        b.depthwisePointwiseForward(gd, gp, y: out.ptr, mid: mid?.ptr, x: ptr, wd: depthwise.ptr, wp: pointwise.ptr, scale: nil, shift: nil)
        norm.normalise(out, stats)
        Engine.multiplyAdds?.total += gd.multiplyAdds + gp.multiplyAdds
        return out
    }

    /// What the backend's depthwisePointwise gradients take, for self (the input) and the two
    /// weights: the gradients each wants, dx added to when self already has one.
    private func gradients(_ gd: ConvGeometry, _ gp: ConvGeometry, _ depthwise: Tensor, _ pointwise: Tensor, dy: UnsafePointer<Float>,
                           mid: Storage, dmid: Storage) -> DepthwisePointwiseGradients {
        let dx = requiresGrad ? gradForWrite() : nil
        return DepthwisePointwiseGradients(gd, gp, dx: dx?.0, accumulate: dx?.1 ?? true, dwd: depthwise.requiresGrad ? depthwise.gradPtr : nil,
                                           dwp: pointwise.requiresGrad ? pointwise.gradPtr : nil, dy: dy, mid: mid.ptr, dmid: dmid.ptr,
                                           x: ptr, wd: depthwise.ptr, wp: pointwise.ptr)
    }

    /// The two convolutions' geometries, checked.
    func depthwisePointwiseGeometry(_ depthwise: Tensor, _ pointwise: Tensor, stride: Int, padding: Int, dilation: Int,
                                    reluInput: Bool) throws -> (ConvGeometry, ConvGeometry) {
        guard rank == 4 else { throw TensorError.shape(op: "depthwisePointwise", message: "input must be (N,C,H,W), got \(shape)") }
        let gd = try convGeometry(depthwise, stride: stride, padding: padding, dilation: dilation, groups: shape[1], reluInput: reluInput)
        guard pointwise.rank == 4, pointwise.shape[1] == gd.cOut, pointwise.shape[2] == 1, pointwise.shape[3] == 1 else {
            throw TensorError.shape(op: "depthwisePointwise",
                                    message: "pointwise weight must be (Cout,\(gd.cOut),1,1), got \(pointwise.shape)")
        }
        let gp = ConvGeometry(n: gd.n, cIn: gd.cOut, h: gd.outH, w: gd.outW, cOut: pointwise.shape[0], kH: 1, kW: 1)
        return (gd, gp)
    }
}

extension Tensor {
    /// FactorizedReduce's convolutions (DARTS): the stride-2 1x1 convolution of self by w1 and that
    /// of self shifted by one pixel by w2, concatenated along channels (w1's outputs first), ReLU on
    /// self when asked. Equals `concat([conv2d(w1, stride: 2), crop(top: 1, left: 1, ...).conv2d(w2,
    /// stride: 2)], axis: 1)`, without copying the shifted input or the halves. Height and width even.
    public func factorizedReduce(_ w1: Tensor, _ w2: Tensor, reluInput: Bool = false) throws -> Tensor {
        guard rank == 4, shape[2] % 2 == 0, shape[3] % 2 == 0, shape[2] >= 2, shape[3] >= 2 else {
            throw TensorError.shape(op: "factorizedReduce", message: "input must be (N,C,H,W) with an even height and width, got \(shape)")
        }
        guard w2.rank == 4, w2.shape[1...] == [shape[1], 1, 1] else {
            throw TensorError.shape(op: "factorizedReduce", message: "second weight must be (Cout,\(shape[1]),1,1), got \(w2.shape)")
        }
        let g = try convGeometry(w1, stride: 2, padding: 0, dilation: 1, groups: 1, reluInput: reluInput)
        guard g.kH == 1, g.kW == 1 else {
            throw TensorError.shape(op: "factorizedReduce", message: "first weight must be (Cout,\(shape[1]),1,1), got \(w1.shape)")
        }
        let c2 = w2.shape[0], b = Engine.backend
        let out = Tensor.result([g.n, g.cOut + c2, g.outH, g.outW], [self, w1, w2]) { out in
            let dx = self.requiresGrad ? self.gradForWrite() : nil
            b.factorizedReduceBackward(g, c2: c2, dx: dx?.0, accumulate: dx?.1 ?? true, dw1: w1.requiresGrad ? w1.gradPtr : nil,
                                       dw2: w2.requiresGrad ? w2.gradPtr : nil, dy: out.gradPtr, x: self.ptr, w1: w1.ptr, w2: w2.ptr)
        }
        b.factorizedReduceForward(g, c2: c2, y: out.ptr, x: ptr, w1: w1.ptr, w2: w2.ptr)
        Engine.multiplyAdds?.total += g.multiplyAdds / g.cOut * (g.cOut + c2)
        return out
    }
}
