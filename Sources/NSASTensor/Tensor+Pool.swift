import NSASBackends

extension Tensor {
    /// The geometry of a pool of this (N,C,H,W) input, or a one-line error naming `op`.
    private func poolGeometry(_ kind: PoolKind, kernel: Int, stride: Int, padding: Int, op: String) throws -> PoolGeometry {
        guard rank == 4 else { throw TensorError.shape(op: op, message: "input must be (N,C,H,W), got \(shape)") }
        let g = PoolGeometry(kind: kind, n: shape[0], c: shape[1], h: shape[2], w: shape[3],
                             kernel: kernel, stride: stride, padding: padding)
        if let problem = g.problem() { throw TensorError.shape(op: op, message: problem + " (input \(shape))") }
        return g
    }

    private func pool(_ kind: PoolKind, kernel: Int, stride: Int, padding: Int) throws -> Tensor {
        let g = try poolGeometry(kind, kernel: kernel, stride: stride, padding: padding, op: kind == .max ? "maxPool2d" : "avgPool2d")
        let b = Engine.backend
        let out = Tensor.result([g.n, g.c, g.outH, g.outW], [self]) { out in
            b.pool2dBackward(g, dx: self.gradPtr, dy: out.gradPtr, x: self.ptr)
        }
        b.pool2dForward(g, y: out.ptr, x: ptr)
        return out
    }

    /// Max pooling over k x k windows.
    public func maxPool2d(kernel: Int, stride: Int, padding: Int) throws -> Tensor {
        try pool(.max, kernel: kernel, stride: stride, padding: padding)
    }

    /// Average pooling over k x k windows; padding is not counted in the average.
    public func avgPool2d(kernel: Int, stride: Int, padding: Int) throws -> Tensor {
        try pool(.average, kernel: kernel, stride: stride, padding: padding)
    }

    /// max or average pooling (as maxPool2d / avgPool2d) followed by training-mode batch norm
    /// without affine parameters (DARTS's search-time pool ops): equals `maxPool2d(...)` or
    /// `avgPool2d(...)` then `.batchNorm(stats, training: true, overwritingInput: true)`, the
    /// running statistics moved alike; the backward pass computes the normalisation's input
    /// gradient a few planes at a time in cache where the backend can
    /// (`Backend.poolBatchNormBackward`).
    public func poolBatchNorm(max isMax: Bool, kernel: Int, stride: Int, padding: Int, stats: BatchNormStats) throws -> Tensor {
        let op = "poolBatchNorm"
        let g = try poolGeometry(isMax ? .max : .average, kernel: kernel, stride: stride, padding: padding, op: op)
        try InPlaceNorm.check(stats, channels: g.c, images: g.n, values: g.outH * g.outW, op: op)
        let b = Engine.backend, norm = InPlaceNorm(channels: g.c)
        let out = Tensor.result([g.n, g.c, g.outH, g.outW], [self]) { out in
            let dpool = Storage(count: out.count, zeroed: false)   // untouched where the backend works a few planes at a time
            b.poolBatchNormBackward(g, dx: self.gradPtr, dy: out.gradPtr, xhat: out.ptr, invStd: norm.invStd.ptr, dpool: dpool.ptr,
                                    x: self.ptr)
        }
        b.pool2dForward(g, y: out.ptr, x: ptr)
        norm.normalise(out, stats)
        return out
    }

    /// (N,C,H,W) -> (N,C): the mean over each plane.
    public func globalAvgPool() throws -> Tensor {
        guard rank == 4 else { throw TensorError.shape(op: "globalAvgPool", message: "input must be (N,C,H,W), got \(shape)") }
        let planes = shape[0] * shape[1], s = shape[2] * shape[3]
        let out = Tensor.result([shape[0], shape[1]], [self]) { out in
            let dx = self.gradPtr, dy = out.gradPtr
            for p in 0..<planes { let g = dy[p] / Float(s); for j in 0..<s { dx[p * s + j] += g } }
        }
        for p in 0..<planes {
            var sum: Float = 0
            for j in 0..<s { sum += ptr[p * s + j] }
            out.ptr[p] = sum / Float(s)
        }
        return out
    }
}
