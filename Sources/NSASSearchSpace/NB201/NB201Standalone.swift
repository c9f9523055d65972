import NSASCheckpoint
import NSASData
import NSASTensor

extension NB201Space {
    public static func standalone(_ arch: NB201Arch, options: NB201Options, setup: SpaceSetup, data: DataSplits,
                                  streams: RandomStreams) throws -> NB201Standalone {
        try NB201Standalone(arch, options: options, setup: setup, data: data, streams: streams)
    }
}

/// A NAS-Bench-201 cell trained from scratch in the benchmark's network (affine BN everywhere,
/// no drop-path, auxiliary head or cutout, as the benchmark trained its 15,625 cells), scored by
/// accuracy on the held-out split and the test split.
public final class NB201Standalone: StandaloneModel, ImageFed {
    public let network: NB201Network
    let options: NB201Options
    public let feed: ImageFeed

    init(_ arch: NB201Arch, options: NB201Options, setup: SpaceSetup, data: DataSplits, streams: RandomStreams) throws {
        try NB201Space.validate(options)
        self.options = options
        feed = ImageFeed(data, setup: setup)
        network = try NB201Network(NB201Space.config(options, data), arch: arch, rng: &streams[RandomStreams.initialization])
    }

    public var parameters: [Tensor] { network.parameters }
    public func named() -> [(String, Tensor)] { network.named("network") }
    public var summary: String { "\(feed.data.name); NAS-Bench-201 network, C=\(options.channels), N=\(options.cellsPerStage), \(network.parameterCount) parameters" }
    public func multiplyAdds() throws -> Int? { nil }

    public func beginEpoch(_ epoch: Int, of epochs: Int, streams: RandomStreams) throws -> Int { try feed.beginEpoch(streams: streams) }
    public func loss(_ batch: ImageBatch, streams: RandomStreams) throws -> PathLoss {
        try ImageFeed.loss(network.forward(batch.x, arch: nil, ForwardContext(training: true)), batch)
    }
    public func afterStep() throws {}

    func accuracy(_ set: ImageSet) throws -> ArchScore {
        try feed.score(set) { try network.forward($0, arch: nil, ForwardContext(training: false)) }
    }
    public func endEpoch(_ epoch: Int, note: (String) -> Void) throws -> ArchScore { try accuracy(feed.data.heldout) }
    public func test() throws -> ArchScore { try accuracy(feed.data.test) }
    public func sections() throws -> [CheckpointWriter.Section] { [] }
    public func restore(_ f: CheckpointFile) throws {}
}
