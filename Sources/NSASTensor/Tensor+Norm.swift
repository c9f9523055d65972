import NSASBackends

/// Running statistics of one batch-norm layer (not trained by gradients).
public final class BatchNormStats {
    public let runningMean: Tensor
    public let runningVar: Tensor
    public var momentum: Float
    public var eps: Float
    public init(channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(zeros: [channels])
        for i in 0..<channels { runningVar.ptr[i] = 1 }
        self.momentum = momentum; self.eps = eps
    }
}

extension BatchNormStats {
    /// Moves the running averages toward a training batch's statistics (`values` per channel; the
    /// variance made unbiased, as PyTorch).
    func record(mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, values: Int) {
        let m = momentum, unbias = Float(values) / Float(values - 1)
        for i in 0..<runningMean.count {
            runningMean.ptr[i] = (1 - m) * runningMean.ptr[i] + m * mean[i]
            runningVar.ptr[i] = (1 - m) * runningVar.ptr[i] + m * variance[i] * unbias
        }
    }
}

/// Training-mode batch norm without affine parameters, normalising a convolution's output in
/// place, for the ops that fuse it (`conv2dBatchNorm`, `depthwisePointwiseBatchNorm`): the same
/// backend calls and running-statistics update as `batchNorm(stats, training: true,
/// overwritingInput: true)`; `invStd` kept for the backward pass.
struct InPlaceNorm {
    let mean: Storage, variance: Storage, invStd: Storage
    init(channels c: Int) { (mean, variance, invStd) = (Storage(count: c), Storage(count: c), Storage(count: c)) }

    /// The checks batchNorm makes: statistics of the output's channels, more than one value per channel.
    static func check(_ stats: BatchNormStats, channels c: Int, images n: Int, values s: Int, op: String) throws {
        guard stats.runningMean.shape == [c] else {
            throw TensorError.shape(op: op, message: "running statistics have shape \(stats.runningMean.shape), the output needs [\(c)]")
        }
        guard n * s >= 2 else {
            throw TensorError.shape(op: op, message: "training needs more than one value per channel, got \(n) images of \(s)")
        }
    }

    /// Normalises out (N, C, H, W) in place with its batch statistics and records them in stats.
    func normalise(_ out: Tensor, _ stats: BatchNormStats) {
        let n = out.shape[0], c = out.shape[1], s = out.shape[2] * out.shape[3]
        Engine.backend.batchNormTrainingForward(n: n, c: c, s: s, y: out.ptr, x: out.ptr, mean: mean.ptr, variance: variance.ptr,
                                                eps: stats.eps, gamma: nil, beta: nil)
        stats.record(mean: mean.ptr, variance: variance.ptr, values: n * s)
        for i in 0..<c { invStd.ptr[i] = 1 / (variance.ptr[i] + stats.eps).squareRoot() }
    }
}

extension Tensor {
    /// Batch normalisation of (N,C,H,W) or (N,C). Training mode normalises with the batch's
    /// statistics and updates the running averages (unbiased variance, as PyTorch); evaluation mode
    /// uses the running averages. gamma/beta (C) are the optional affine parameters.
    /// `overwritingInput`: the caller's promise that nothing else reads this tensor's values (a
    /// convolution's output that only this normalisation takes); without gamma and beta, training
    /// then normalises it in place and the backward pass reads x-hat from the output, which saves
    /// a tensor-sized buffer and a pass through memory.
    public func batchNorm(_ stats: BatchNormStats, gamma: Tensor? = nil, beta: Tensor? = nil,
                          training: Bool, overwritingInput: Bool = false) throws -> Tensor {
        guard rank == 4 || rank == 2 else {
            throw TensorError.shape(op: "batchNorm", message: "input must be (N,C,H,W) or (N,C), got \(shape)")
        }
        let n = shape[0], c = shape[1], s = rank == 4 ? shape[2] * shape[3] : 1
        for (label, t) in [("running statistics", stats.runningMean), ("gamma", gamma), ("beta", beta)] {
            if let t, t.shape != [c] {
                throw TensorError.shape(op: "batchNorm", message: "\(label) has shape \(t.shape), input \(shape) needs [\(c)]")
            }
        }
        if (gamma == nil) != (beta == nil) {
            throw TensorError.argument(op: "batchNorm", message: "gamma and beta come together")
        }
        if training && n * s < 2 {
            throw TensorError.shape(op: "batchNorm", message: "training needs more than one value per channel, got input \(shape)")
        }
        let b = Engine.backend
        // Statistics, filled below once the output exists (training writes them with the output in
        // one call); the backward closure reads them when it runs.
        let mean = Storage(count: c), variance = Storage(count: c)
        let invStd = Storage(count: c), scale = Storage(count: c), shift = Storage(count: c)
        let inPlace = overwritingInput && training && gamma == nil
        let inputs = [self] + [gamma, beta].compactMap { $0 }
        let out = Tensor.result(shape, inputs, storage: inPlace ? storage : nil) { out in
            let dgamma = gamma.flatMap { $0.requiresGrad ? $0.gradPtr : nil }
            let dbeta = beta.flatMap { $0.requiresGrad ? $0.gradPtr : nil }
            if training {
                // The kernel always writes dx; give it scratch space when the input needs none.
                let scratch = self.requiresGrad ? nil : Storage(count: self.count, zeroed: false)
                let (dx, accumulate) = scratch.map { ($0.ptr, false) } ?? self.gradForWrite()
                withExtendedLifetime(scratch) {
                    if inPlace {
                        b.batchNormInPlaceBackward(n: n, c: c, s: s, dx: dx, dy: out.gradPtr, xhat: out.ptr, invStd: invStd.ptr,
                                                   accumulate: accumulate)
                    } else {
                        b.batchNormBackward(n: n, c: c, s: s, dx: dx, dgamma: dgamma, dbeta: dbeta, dy: out.gradPtr, x: self.ptr,
                                            mean: mean.ptr, invStd: invStd.ptr, gamma: gamma?.ptr, accumulate: accumulate)
                    }
                }
            } else {
                // Evaluation: y = (x - mean) * scale + shift is affine in x with fixed statistics.
                let dy = out.gradPtr
                for i in 0..<n {
                    for ch in 0..<c {
                        for j in 0..<s {
                            let idx = (i * c + ch) * s + j
                            if self.requiresGrad { self.gradPtr[idx] += dy[idx] * scale.ptr[ch] }
                            dgamma?[ch] += dy[idx] * (self.ptr[idx] - mean.ptr[ch]) * invStd.ptr[ch]
                            dbeta?[ch] += dy[idx]
                        }
                    }
                }
            }
        }
        if training {
            b.batchNormTrainingForward(n: n, c: c, s: s, y: out.ptr, x: ptr, mean: mean.ptr, variance: variance.ptr,
                                       eps: stats.eps, gamma: gamma?.ptr, beta: beta?.ptr)
            stats.record(mean: mean.ptr, variance: variance.ptr, values: n * s)
        } else {
            mean.ptr.update(from: stats.runningMean.ptr, count: c)
            variance.ptr.update(from: stats.runningVar.ptr, count: c)
        }
        for i in 0..<c {
            invStd.ptr[i] = 1 / (variance.ptr[i] + stats.eps).squareRoot()
            scale.ptr[i] = batchNormScale(variance: variance.ptr[i], eps: stats.eps, gamma: gamma?.ptr[i])
            shift.ptr[i] = beta?.ptr[i] ?? 0
        }
        if !training { b.channelAffine(n: n, c: c, s: s, y: out.ptr, x: ptr, scale: scale.ptr, shift: shift.ptr, mean: mean.ptr) }
        return out
    }
}
