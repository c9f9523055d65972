extension Tensor {
    /// A dropout mask of a shape: each entry 0 with probability p, else 1/(1-p).
    /// Multiply several tensors by one mask to share it (variational dropout across time steps).
    public static func dropoutMask(shape: [Int], p: Float, rng: inout RNG) throws -> Tensor {
        guard p >= 0 && p < 1 else { throw TensorError.argument(op: "dropout", message: "probability \(p) must be in [0, 1)") }
        let m = Tensor(zeros: shape)
        let keep = 1 / (1 - p)
        m.fill { rng.uniform() < p ? 0 : keep }
        return m
    }

    /// Inverted dropout: zero each entry with probability p and scale the rest by 1/(1-p).
    /// Identity when `training` is false or p == 0.
    public func dropout(p: Float, training: Bool, rng: inout RNG) throws -> Tensor {
        if !training || p == 0 { return self }
        return try self * Tensor.dropoutMask(shape: shape, p: p, rng: &rng)
    }
}
