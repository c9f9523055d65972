import NSASCheckpoint
import NSASTensor

/// A space's architecture trained from scratch with its own weights (the ground truth a
/// supernet's ranking is measured against), bound to the space's data. The stand-alone loop
/// (NSASTrain) owns epochs, SGD, clipping, metrics, checkpoints and resume.
public protocol StandaloneModel: AnyObject {
    associatedtype Batch
    var parameters: [Tensor] { get }
    func named() -> [(String, Tensor)]
    var summary: String { get }
    var dataName: String { get }
    /// A fingerprint of the loaded data, recorded in checkpoints and compared on resume.
    var dataFingerprint: String { get }
    /// "images" or "tokens".
    var unit: String { get }
    /// Multiply-adds of one item at inference, where the space counts them.
    func multiplyAdds() throws -> Int?

    /// Starts epoch `epoch` of `epochs`; returns its number of steps.
    func beginEpoch(_ epoch: Int, of epochs: Int, streams: RandomStreams) throws -> Int
    func trainBatch(_ step: Int, streams: RandomStreams) throws -> Batch
    /// Training loss (with the recipe's regularisers: auxiliary head, drop-path, TAR).
    func loss(_ batch: Batch, streams: RandomStreams) throws -> PathLoss
    func commit(_ result: PathLoss, of batch: Batch)
    /// After every SGD step (averaged SGD keeps its running mean here).
    func afterStep() throws
    /// Validation score after an epoch; may change the recipe for later epochs (switch to ASGD).
    func endEpoch(_ epoch: Int, note: (String) -> Void) throws -> ArchScore
    func test() throws -> ArchScore
    /// The recipe's own state for a checkpoint, and its restore.
    func sections() throws -> [CheckpointWriter.Section]
    func restore(_ f: CheckpointFile) throws
}

/// Spaces whose architectures can be trained stand-alone.
public protocol StandaloneSpace: SearchSpace {
    associatedtype Standalone: StandaloneModel
    /// The stand-alone network of `genotype`, initialised from the `initialization` stream.
    static func standalone(_ genotype: Arch, options: Options, setup: SpaceSetup, data: Data, streams: RandomStreams) throws -> Standalone
}
