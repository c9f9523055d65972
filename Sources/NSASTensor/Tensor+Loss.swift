import Foundation

extension Tensor {
    /// Sum of all elements: shape [1].
    public func sum() -> Tensor {
        let b = Engine.backend
        let out = Tensor.result([1], [self]) { out in b.addScalar(count: self.count, value: out.gradPtr[0], y: self.gradPtr) }
        out.fill(Float(b.sum(count: count, x: ptr)))
        return out
    }

    /// Mean of all elements: shape [1].
    public func mean() -> Tensor { sum().scaled(by: 1 / Float(max(count, 1))) }

    /// (rows, classes) view of the last axis.
    private func rowsAndClasses(_ op: String) throws -> (Int, Int) {
        guard rank >= 1, let c = shape.last, c > 0 else { throw TensorError.shape(op: op, message: "needs a non-empty last axis, got \(shape)") }
        return (count / c, c)
    }

    /// log softmax over the last axis (numerically stable).
    public func logSoftmax() throws -> Tensor {
        let (rows, c) = try rowsAndClasses("logSoftmax")
        let b = Engine.backend
        let out = Tensor.result(shape, [self]) { out in
            // dx = dy - softmax * sum(dy)
            b.logSoftmaxBackward(rows: rows, c: c, dx: self.gradPtr, dy: out.gradPtr, y: out.ptr)
        }
        b.logSoftmax(rows: rows, c: c, y: out.ptr, x: ptr)
        return out
    }

    /// softmax over the last axis.
    public func softmax() throws -> Tensor {
        let (rows, c) = try rowsAndClasses("softmax")
        let out = Tensor.result(shape, [self]) { out in
            // dx = y * (dy - sum(dy * y))
            let dx = self.gradPtr, dy = out.gradPtr, y = out.ptr
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<c { s += dy[r * c + j] * y[r * c + j] }
                for j in 0..<c { dx[r * c + j] += y[r * c + j] * (dy[r * c + j] - s) }
            }
        }
        for r in 0..<rows {
            let x = ptr + r * c, y = out.ptr + r * c
            var m = -Float.infinity
            for j in 0..<c { m = max(m, x[j]) }
            var z: Float = 0
            for j in 0..<c { y[j] = Foundation.exp(x[j] - m); z += y[j] }
            for j in 0..<c { y[j] /= z }
        }
        return out
    }

    /// Mean cross-entropy of logits (N,C) against integer labels in 0..<C.
    public func crossEntropy(labels: [Int]) throws -> Tensor {
        guard rank == 2, shape[0] == labels.count else {
            throw TensorError.shape(op: "crossEntropy", message: "logits \(shape) need one label per row, got \(labels.count) labels")
        }
        let n = shape[0], c = shape[1]
        if let bad = labels.first(where: { $0 < 0 || $0 >= c }) {
            throw TensorError.argument(op: "crossEntropy", message: "label \(bad) outside 0..<\(c)")
        }
        let logp = try logSoftmax()
        let out = Tensor.result([1], [logp]) { out in
            let g = out.gradPtr[0] / Float(n), d = logp.gradPtr
            for (i, l) in labels.enumerated() { d[i * c + l] -= g }
        }
        var acc = 0.0
        for (i, l) in labels.enumerated() { acc -= Double(logp.ptr[i * c + l]) }
        out.ptr[0] = Float(acc / Double(n))
        return out
    }

    /// Index of the largest value of each row of (N,C).
    public func argmaxRows() -> [Int] {
        let c = shape.last ?? 1, rows = count / max(c, 1)
        return (0..<rows).map { r in
            var best = 0
            for j in 1..<max(c, 1) where ptr[r * c + j] > ptr[r * c + best] { best = j }
            return best
        }
    }
}
