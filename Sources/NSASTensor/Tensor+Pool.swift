import NSASBackends

extension Tensor {
    private func pool(_ kind: PoolKind, kernel: Int, stride: Int, padding: Int) throws -> Tensor {
        let op = kind == .max ? "maxPool2d" : "avgPool2d"
        guard rank == 4 else { throw TensorError.shape(op: op, message: "input must be (N,C,H,W), got \(shape)") }
        let g = PoolGeometry(kind: kind, n: shape[0], c: shape[1], h: shape[2], w: shape[3],
                             kernel: kernel, stride: stride, padding: padding)
        if let problem = g.problem() { throw TensorError.shape(op: op, message: problem + " (input \(shape))") }
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
