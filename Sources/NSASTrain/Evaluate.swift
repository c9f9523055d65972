import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// Accuracy and mean loss of logits from `forward` over (part of) a split, without a tape and
/// with BN in evaluation mode (running statistics).
public func evaluate(_ set: ImageSet, batcher: Batcher, batchSize: Int, maxBatches: Int? = nil,
                     forward: (Tensor) throws -> Tensor) throws -> (accuracy: Float, loss: Float) {
    var rng = RNG(seed: 0)
    let order = Batcher.order(count: set.count, batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng)
    var correct = 0, seen = 0, lossSum = 0.0
    for indices in order.prefix(maxBatches ?? order.count) {
        let (x, labels) = batcher.batch(set, indices, rng: &rng)
        let logits = try withNoGrad { try forward(x) }
        let loss = try withNoGrad { try logits.crossEntropy(labels: labels) }
        correct += zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
        seen += labels.count
        lossSum += Double(loss.item) * Double(labels.count)
    }
    return (Float(correct) / Float(max(seen, 1)), Float(lossSum / Double(max(seen, 1))))
}

/// Held-out scores of the `--track` architectures with the supernet's current weights (nil when
/// none are tracked). Uses its own generator, so tracking never changes the training itself.
func trackedScores(_ archs: [Genotype], supernet: Supernet, data: DataSplits, batcher: Batcher, batchSize: Int) throws -> [TrackedScore]? {
    guard !archs.isEmpty else { return nil }
    return try archs.map { g in
        let r = try evaluate(data.heldout, batcher: batcher, batchSize: batchSize) {
            try supernet.forward($0, arch: g, ForwardContext(training: false))
        }
        return TrackedScore(arch: g.canonical, accuracy: r.accuracy, loss: r.loss)
    }
}

/// The tracked architectures recorded in a checkpoint's metrics (so `--resume` keeps tracking them).
public func trackedArchitectures(inCheckpoint path: String) throws -> [Genotype] {
    let m = try CheckpointFile(path).json("metrics", as: EpochMetrics.self)
    return try (m.tracked ?? []).map { try Genotype(parsing: $0.arch) }
}

/// One tracked architecture's score after an epoch.
public struct TrackedScore: Codable, Equatable, Sendable {
    public var arch: String
    public var accuracy: Float
    public var loss: Float
}

/// Metrics of one epoch.
public struct EpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var trainAccuracy: Float
    public var lr: Float
    public var seconds: Double
    public var imagesPerSecond: Double
    public var heldoutAccuracy: Float?
    /// Held-out accuracy of the `--track` architectures with this epoch's weights (paper Figure 1).
    public var tracked: [TrackedScore]?

    var record: [String: Any] {
        var r: [String: Any] = ["event": "epoch", "epoch": epoch, "train_loss": trainLoss, "train_accuracy": trainAccuracy,
                                "lr": lr, "seconds": seconds, "images_per_s": imagesPerSecond]
        if let heldoutAccuracy { r["heldout_accuracy"] = heldoutAccuracy }
        if let tracked { r["tracked"] = tracked.map { ["arch": $0.arch, "accuracy": $0.accuracy, "loss": $0.loss] } }
        return r
    }
}

/// The SGD loop shared by every method: epochs of seeded shuffled batches, cosine learning rate,
/// gradient clipping, progress and metrics. `step` computes the loss of one batch (and may run
/// several backward passes); it returns the loss value and the logits whose accuracy is tracked.
struct EpochRunner {
    let config: TrainConfig
    let data: DataSplits
    let batcher: Batcher
    let augmentation: Augmentation
    let log: RunLog
    let label: String

    func run(epoch: Int, dataRNG: inout RNG, sgd: SGD, parameters: [Tensor],
             step: (Tensor, [Int], Int) throws -> (loss: Float, logits: Tensor)) throws -> EpochMetrics {
        let schedule = CosineAnnealing(base: config.lr, minimum: config.lrMin, total: config.epochs)
        sgd.lr = schedule.lr(epoch: epoch)
        var order = Batcher.order(count: data.train.count, batchSize: config.batch, shuffle: true, dropLast: true, rng: &dataRNG)
        if config.maxSteps > 0 { order = Array(order.prefix(config.maxSteps)) }
        let start = Timing.now()
        var lossSum = 0.0, correct = 0, seen = 0
        for (s, indices) in order.enumerated() {
            let (x, labels) = batcher.batch(data.train, indices, augmentation: augmentation, rng: &dataRNG)
            sgd.zeroGrad()
            let (loss, logits) = try step(x, labels, s)
            guard loss.isFinite else { throw TrainError.diverged(epoch: epoch + 1, step: s + 1, loss: loss) }
            clipGradNorm(parameters, maxNorm: config.clip)
            sgd.step()
            lossSum += Double(loss) * Double(labels.count)
            correct += zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
            seen += labels.count
            let elapsed = Timing.now() - start, rate = Double(seen) / max(elapsed, 1e-9)
            let eta = elapsed / Double(s + 1) * Double(order.count - s - 1)
            log.progress(String(format: "%@ epoch %d/%d step %d/%d loss %.4f acc %.3f %.0f img/s ETA %@", label, epoch + 1, config.epochs,
                                s + 1, order.count, lossSum / Double(seen), Float(correct) / Float(seen), rate, formatDuration(eta)),
                         step: s + 1, of: order.count)
        }
        let seconds = Timing.now() - start
        return EpochMetrics(epoch: epoch + 1, trainLoss: Float(lossSum / Double(max(seen, 1))),
                            trainAccuracy: Float(correct) / Float(max(seen, 1)), lr: sgd.lr, seconds: seconds,
                            imagesPerSecond: Double(seen) / max(seconds, 1e-9))
    }
}

import Foundation

enum Timing {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
