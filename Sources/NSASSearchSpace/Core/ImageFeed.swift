import NSASData
import NSASTensor

/// One image batch.
public struct ImageBatch {
    public var x: Tensor
    public var labels: [Int]
    /// A shared batch (NSAS, DARTS CNN space): the architecture-independent prefix on the tape, and
    /// the leaves the paths run from.
    var prefix: SharedPrefix? = nil, leaves: SharedPrefix? = nil
}

/// The image data side every image space shares (DARTS CNN, NAS-Bench-201; supernets and
/// stand-alone networks): an epoch's shuffled batch order from the `data` stream, augmented
/// training batches, random held-out batches from the `heldout` stream, held-out scoring, and the
/// training batches BN recalibration runs on.
public final class ImageFeed {
    public let data: DataSplits
    let setup: SpaceSetup
    let batcher: Batcher
    var order: [[Int]] = []

    public init(_ data: DataSplits, setup: SpaceSetup) {
        self.data = data; self.setup = setup; batcher = Batcher(data)
    }

    /// Shuffles the epoch's batches (at most `maxSteps`); returns their number.
    public func beginEpoch(streams: RandomStreams) throws -> Int {
        order = Batcher.order(count: data.train.count, batchSize: setup.batch, shuffle: true, dropLast: true, rng: &streams[RandomStreams.data])
        if setup.maxSteps > 0 { order = Array(order.prefix(setup.maxSteps)) }
        guard !order.isEmpty else { throw SearchSpaceError.option("--batch \(setup.batch) is larger than the training split (\(data.train.count) images)") }
        return order.count
    }

    /// Training batch `step` with the data set's augmentation (and cutout, stand-alone).
    public func trainBatch(_ step: Int, streams: RandomStreams, cutout: Int = 0) -> ImageBatch {
        var aug = data.augmentation
        aug.cutout = cutout
        let (x, y) = batcher.batch(data.train, order[step], augmentation: aug, rng: &streams[RandomStreams.data])
        return ImageBatch(x: x, labels: y)
    }

    /// A batch of random held-out images (GDAS's architecture step).
    public func heldoutBatch(streams: RandomStreams) -> ImageBatch {
        let indices = (0..<setup.batch).map { _ in streams[RandomStreams.heldout].int(below: data.heldout.count) }
        let (x, y) = batcher.batch(data.heldout, indices, rng: &streams[RandomStreams.heldout])
        return ImageBatch(x: x, labels: y)
    }

    /// Accuracy and loss of `forward`'s logits on `set` (BN in evaluation mode).
    public func score(_ set: ImageSet, batches: Int? = nil, batchSize: Int? = nil, forward: (Tensor) throws -> Tensor) throws -> ArchScore {
        let r = try evaluate(set, batcher: batcher, batchSize: batchSize ?? setup.evalBatch, maxBatches: batches, forward: forward)
        return ArchScore(value: r.accuracy, loss: r.loss)
    }

    /// Runs `forward` in training mode with BN recalibration on the first `batches` training batches.
    public func recalibrate(batches: Int, forward: (Tensor, ForwardContext) throws -> Tensor) throws {
        var rng = RNG(seed: 0)
        let order = Batcher.order(count: data.train.count, batchSize: setup.batch, shuffle: false, dropLast: true, rng: &rng)
        guard order.count >= batches else {
            throw SearchSpaceError.option("--bn-recalibrate \(batches): the training split has only \(order.count) batches of \(setup.batch)")
        }
        let ctx = ForwardContext(training: true, recalibration: BNRecalibration())
        for indices in order.prefix(batches) {
            let x = batcher.batch(data.train, indices, rng: &rng).0
            _ = try withNoGrad { try forward(x, ctx) }
        }
    }

    /// Cross-entropy of logits with the number right.
    public static func loss(_ logits: Tensor, _ batch: ImageBatch) throws -> PathLoss {
        let loss = try logits.crossEntropy(labels: batch.labels)
        let correct = zip(logits.argmaxRows(), batch.labels).filter { $0 == $1 }.count
        return PathLoss(loss: loss, value: loss.item, correct: correct, count: batch.labels.count)
    }
}

/// A space or stand-alone model fed by an `ImageFeed`: the data-side requirements of the
/// protocols come from the feed (DARTS CNN and NAS-Bench-201 share them).
public protocol ImageFed: AnyObject {
    var feed: ImageFeed { get }
}

extension ImageFed {
    public var data: DataSplits { feed.data }
    public var dataName: String { feed.data.name }
    public var dataFingerprint: String { feed.data.fingerprint }
    public var unit: String { "images" }
    public func trainBatch(_ step: Int, streams: RandomStreams) throws -> ImageBatch { feed.trainBatch(step, streams: streams) }
    public func commit(_ result: PathLoss, of batch: ImageBatch) {}
}

extension ImageFed where Self: SearchSpace {
    public func beginEpoch(_ epoch: Int, streams: RandomStreams) throws -> Int { try feed.beginEpoch(streams: streams) }
    public func heldoutBatch(_ step: Int, streams: RandomStreams) throws -> ImageBatch { feed.heldoutBatch(streams: streams) }
}
