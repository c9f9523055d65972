import NSASBackends

extension Tensor {
    /// Matrix product of (M,K) and (K,N).
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard rank == 2, other.rank == 2, shape[1] == other.shape[0] else {
            throw TensorError.shape(op: "matmul", message: "cannot multiply \(shape) by \(other.shape)")
        }
        let m = shape[0], k = shape[1], n = other.shape[1]
        let b = Engine.backend
        let out = Tensor.result([m, n], [self, other]) { out in
            // dA += dC B^T, dB += A^T dC
            if self.requiresGrad {
                b.gemm(transA: false, transB: true, m: m, n: k, k: n, alpha: 1, a: out.gradPtr, lda: n,
                       b: other.ptr, ldb: n, beta: 1, c: self.gradPtr, ldc: k)
            }
            if other.requiresGrad {
                b.gemm(transA: true, transB: false, m: k, n: n, k: m, alpha: 1, a: self.ptr, lda: k,
                       b: out.gradPtr, ldb: n, beta: 1, c: other.gradPtr, ldc: n)
            }
        }
        b.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ptr, lda: k, b: other.ptr, ldb: n,
               beta: 0, c: out.ptr, ldc: n)
        Engine.multiplyAdds?.total += m * n * k
        return out
    }

    /// y = x W^T + b for x (N,in), W (out,in), b (out) as PyTorch's nn.Linear.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard rank == 2, weight.rank == 2, shape[1] == weight.shape[1] else {
            throw TensorError.shape(op: "linear", message: "input \(shape) does not fit weight \(weight.shape) (expects (N,\(weight.shape.count == 2 ? weight.shape[1] : 0)))")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw TensorError.shape(op: "linear", message: "bias \(bias.shape) does not fit weight \(weight.shape)")
        }
        let m = shape[0], k = shape[1], n = weight.shape[0]
        let b = Engine.backend
        let out = Tensor.result([m, n], [self, weight] + (bias.map { [$0] } ?? [])) { out in
            if self.requiresGrad {   // dx += dy W
                b.gemm(transA: false, transB: false, m: m, n: k, k: n, alpha: 1, a: out.gradPtr, lda: n,
                       b: weight.ptr, ldb: k, beta: 1, c: self.gradPtr, ldc: k)
            }
            if weight.requiresGrad { // dW += dy^T x
                b.gemm(transA: true, transB: false, m: n, n: k, k: m, alpha: 1, a: out.gradPtr, lda: n,
                       b: self.ptr, ldb: k, beta: 1, c: weight.gradPtr, ldc: k)
            }
            if let bias, bias.requiresGrad {
                let db = bias.gradPtr, dy = out.gradPtr
                for i in 0..<m { for j in 0..<n { db[j] += dy[i * n + j] } }
            }
        }
        b.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: ptr, lda: k, b: weight.ptr, ldb: k,
               beta: 0, c: out.ptr, ldc: n)
        if let bias { for i in 0..<m { for j in 0..<n { out.ptr[i * n + j] += bias.ptr[j] } } }
        Engine.multiplyAdds?.total += m * n * k
        return out
    }

    /// Rows of a (V,E) table picked by ids: (ids.count, E). Gradients add into the picked rows.
    public func embedding(_ ids: [Int]) throws -> Tensor {
        guard rank == 2 else { throw TensorError.shape(op: "embedding", message: "table must be (V,E), got \(shape)") }
        let v = shape[0], e = shape[1]
        if let bad = ids.first(where: { $0 < 0 || $0 >= v }) {
            throw TensorError.argument(op: "embedding", message: "id \(bad) outside vocabulary of \(v)")
        }
        let out = Tensor.result([ids.count, e], [self]) { out in
            let dt = self.gradPtr, dy = out.gradPtr
            for (r, id) in ids.enumerated() { for j in 0..<e { dt[id * e + j] += dy[r * e + j] } }
        }
        for (r, id) in ids.enumerated() { (out.ptr + r * e).update(from: ptr + id * e, count: e) }
        return out
    }
}
