import NSASBackends

extension Tensor {
    /// Images an evaluation slice holds (`forwardInSlices`' default; memory estimates use it).
    public static let evaluationSlice = 4

    /// Runs an evaluation forward (no tape) on slices of `slice` items of the batch `x` (axis 0)
    /// and concatenates the outputs along axis 0. The slices spread over the workers one at a
    /// time, each slice's kernels on the thread that took it: a slice's activations stay in
    /// that core's cache from op to op, where a whole batch streams every tensor through memory
    /// (inference of 256 images 1.4-1.8x faster at slices of 1-4 than whole, with 2 threads;
    /// docs/benchmarks.md). Only for forwards whose items are independent (evaluation-mode batch
    /// norm): outputs equal the whole-batch forward's up to float rounding. Runs the batch whole
    /// when counting multiply-adds, and slice by slice in order when there is one thread.
    public static func forwardInSlices(_ x: Tensor, slice: Int = evaluationSlice, _ forward: (Tensor) throws -> Tensor) throws -> Tensor {
        let n = x.shape.first ?? 0
        guard slice >= 1 else { throw TensorError.argument(op: "forwardInSlices", message: "slice must be positive, got \(slice)") }
        if n <= slice || Engine.multiplyAdds != nil { return try withNoGrad { try forward(x) } }
        let count = (n + slice - 1) / slice
        // Task-local settings do not reach the pool's threads: each item sets the caller's backend.
        let backend = Engine.backend
        var outputs = [Tensor?](repeating: nil, count: count)
        var failures = [(any Error)?](repeating: nil, count: count)
        outputs.withUnsafeMutableBufferPointer { outs in
            failures.withUnsafeMutableBufferPointer { errs in
                Parallel.forEach(count) { i in
                    do {
                        outs[i] = try withBackend(backend) {
                            try withNoGrad { try forward(x.narrow(axis: 0, start: i * slice, length: min(slice, n - i * slice))) }
                        }
                    } catch { errs[i] = error }
                }
            }
        }
        if let error = failures.lazy.compactMap({ $0 }).first { throw error }
        return try withNoGrad { try Tensor.concat(outputs.map { $0! }, axis: 0) }
    }
}
