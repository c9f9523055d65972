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
            let dmid = Storage(count: mid.count, zeroed: false)
            b.conv2dBackward(gp, dx: dmid.ptr, accumulate: false, dw: pointwise.requiresGrad ? pointwise.gradPtr : nil,
                             dy: out.gradPtr, w: pointwise.ptr, x: mid.ptr)
            let dx = self.requiresGrad ? self.gradForWrite() : nil
            b.conv2dBackward(gd, dx: dx?.0, accumulate: dx?.1 ?? true, dw: depthwise.requiresGrad ? depthwise.gradPtr : nil,
                             dy: dmid.ptr, w: depthwise.ptr, x: self.ptr)
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
