import NSASBackends

extension Tensor {
    /// 2-D convolution without bias. self is (N,Cin,H,W), weight (Cout,Cin/groups,KH,KW).
    /// `groups == Cin == Cout` is a depthwise convolution. `reluInput` convolves relu(self) without
    /// materialising it: `x.conv2d(w, reluInput: true)` equals `x.relu().conv2d(w)`.
    public func conv2d(_ weight: Tensor, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                       groups: Int = 1, reluInput: Bool = false) throws -> Tensor {
        let g = try convGeometry(weight, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput)
        let b = Engine.backend
        let out = Tensor.result([g.n, g.cOut, g.outH, g.outW], [self, weight]) { out in
            let dx = self.requiresGrad ? self.gradForWrite() : nil
            b.conv2dBackward(g, dx: dx?.0, accumulate: dx?.1 ?? true, dw: weight.requiresGrad ? weight.gradPtr : nil,
                             dy: out.gradPtr, w: weight.ptr, x: self.ptr)
        }
        b.conv2dForward(g, y: out.ptr, x: ptr, w: weight.ptr)
        Engine.multiplyAdds?.total += g.multiplyAdds
        return out
    }

    /// conv2d followed by training-mode batch norm without affine parameters (the preprocessing
    /// of DARTS cells while searching): equals `conv2d(...).batchNorm(stats, training: true,
    /// overwritingInput: true)`, the running statistics moved alike. The backward pass computes the
    /// normalisation's input gradient and the convolution's gradients image by image where the
    /// backend can (`Backend.convBatchNormBackward`).
    public func conv2dBatchNorm(_ weight: Tensor, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1,
                                reluInput: Bool = false, stats: BatchNormStats) throws -> Tensor {
        let g = try convGeometry(weight, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput)
        try InPlaceNorm.check(stats, channels: g.cOut, images: g.n, values: g.outH * g.outW, op: "conv2dBatchNorm")
        let b = Engine.backend, norm = InPlaceNorm(channels: g.cOut)
        let out = Tensor.result([g.n, g.cOut, g.outH, g.outW], [self, weight]) { out in
            let dconv = Storage(count: out.count, zeroed: false)   // untouched where the backend works image by image
            let dx = self.requiresGrad ? self.gradForWrite() : nil
            b.convBatchNormBackward(g, dx: dx?.0, accumulate: dx?.1 ?? true, dw: weight.requiresGrad ? weight.gradPtr : nil, dy: out.gradPtr,
                                    xhat: out.ptr, invStd: norm.invStd.ptr, dconv: dconv.ptr, w: weight.ptr, x: self.ptr)
        }
        b.conv2dForward(g, y: out.ptr, x: ptr, w: weight.ptr)
        norm.normalise(out, stats)
        Engine.multiplyAdds?.total += g.multiplyAdds
        return out
    }

    /// conv2d followed by evaluation-mode batch norm (running statistics, optional affine), in one
    /// pass where the backend can: for inference. When a gradient is wanted it runs the two ops.
    public func conv2dBatchNormEval(_ weight: Tensor, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1,
                                    reluInput: Bool = false, stats: BatchNormStats, gamma: Tensor? = nil, beta: Tensor? = nil) throws -> Tensor {
        if Engine.gradEnabled && (requiresGrad || weight.requiresGrad || gamma?.requiresGrad == true || beta?.requiresGrad == true) {
            return try conv2d(weight, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput)
                .batchNorm(stats, gamma: gamma, beta: beta, training: false)
        }
        let g = try convGeometry(weight, stride: stride, padding: padding, dilation: dilation, groups: groups, reluInput: reluInput)
        let (scale, shift) = try Self.evalAffine(g.cOut, stats: stats, gamma: gamma, beta: beta, op: "conv2dBatchNormEval")
        let out = Tensor.result([g.n, g.cOut, g.outH, g.outW], []) { _ in }   // no inputs: nothing recorded
        Engine.backend.conv2dForwardAffine(g, y: out.ptr, x: ptr, w: weight.ptr, scale: scale, shift: shift)
        Engine.multiplyAdds?.total += g.multiplyAdds
        return out
    }

    /// Evaluation-mode batch norm over c channels as y * scale + shift, checked.
    static func evalAffine(_ c: Int, stats: BatchNormStats, gamma: Tensor?, beta: Tensor?, op: String) throws -> ([Float], [Float]) {
        for (label, t) in [("running statistics", stats.runningMean), ("gamma", gamma), ("beta", beta)] {
            if let t, t.shape != [c] {
                throw TensorError.shape(op: op, message: "\(label) has shape \(t.shape), the convolution gives \(c) channels")
            }
        }
        if (gamma == nil) != (beta == nil) { throw TensorError.argument(op: op, message: "gamma and beta come together") }
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0..<c {
            let inv = 1 / (stats.runningVar.ptr[ch] + stats.eps).squareRoot()
            scale[ch] = inv * (gamma?.ptr[ch] ?? 1)
            shift[ch] = (beta?.ptr[ch] ?? 0) - stats.runningMean.ptr[ch] * scale[ch]
        }
        return (scale, shift)
    }

    /// The geometry of a convolution of self by weight, checked.
    func convGeometry(_ weight: Tensor, stride: Int, padding: Int, dilation: Int, groups: Int, reluInput: Bool) throws -> ConvGeometry {
        guard rank == 4, weight.rank == 4 else {
            throw TensorError.shape(op: "conv2d", message: "input must be (N,C,H,W) and weight (Cout,Cin/groups,KH,KW); got \(shape) and \(weight.shape)")
        }
        let g = ConvGeometry(n: shape[0], cIn: shape[1], h: shape[2], w: shape[3], cOut: weight.shape[0],
                             kH: weight.shape[2], kW: weight.shape[3], stride: stride, padding: padding,
                             dilation: dilation, groups: groups, reluInput: reluInput)
        if let problem = g.problem() { throw TensorError.shape(op: "conv2d", message: problem + " (input \(shape), weight \(weight.shape))") }
        guard weight.shape[1] == g.cInPerGroup else {
            throw TensorError.shape(op: "conv2d", message: "weight \(weight.shape) needs \(g.cInPerGroup) input channels per group (input \(shape), groups \(groups))")
        }
        return g
    }
}
