import NSASCheckpoint
import NSASData
import NSASTensor

extension DARTSCNNSpace {
    public static func standalone(_ genotype: Genotype, options: DARTSCNNOptions, setup: SpaceSetup, data: DataSplits,
                                  streams: RandomStreams) throws -> CNNStandalone {
        try CNNStandalone(genotype, options: options, setup: setup, data: data, streams: streams)
    }
}

/// A DARTS CNN genotype trained from scratch (DARTS's evaluation recipe: drop-path rising linearly
/// to `dropPath`, auxiliary head weighted `auxiliaryWeight`, cutout), scored by accuracy on the
/// held-out (validation) split and the test split.
public final class CNNStandalone: StandaloneModel, ImageFed {
    public let network: StandaloneNetwork
    let options: DARTSCNNOptions
    public let feed: ImageFeed
    var dropPath: Float = 0

    init(_ genotype: Genotype, options: DARTSCNNOptions, setup: SpaceSetup, data: DataSplits, streams: RandomStreams) throws {
        try DARTSCNNSpace.validate(options)
        self.options = options
        feed = ImageFeed(data, setup: setup)
        network = try StandaloneNetwork(genotype, config: CNNConfig(layers: options.layers, channels: options.channels, inputChannels: data.channels,
                                                                    imageSize: data.imageSize, classes: data.classes),
                                        auxiliary: options.auxiliaryWeight > 0, rng: &streams[RandomStreams.initialization])
    }

    public var parameters: [Tensor] { network.parameters }
    public func named() -> [(String, Tensor)] { network.named() }
    public var summary: String { "\(data.name); \(options.layers) cells, C=\(options.channels), \(network.parameterCount) parameters" }
    public func multiplyAdds() throws -> Int? { try network.multiplyAdds() }

    public func beginEpoch(_ epoch: Int, of epochs: Int, streams: RandomStreams) throws -> Int {
        dropPath = options.dropPath * Float(epoch) / Float(epochs)
        return try feed.beginEpoch(streams: streams)
    }

    public func trainBatch(_ step: Int, streams: RandomStreams) throws -> ImageBatch {
        feed.trainBatch(step, streams: streams, cutout: options.cutout)
    }

    public func loss(_ batch: ImageBatch, streams: RandomStreams) throws -> PathLoss {
        let ctx = ForwardContext(training: true, dropPath: dropPath, rng: streams["drop-path"])
        let (logits, aux) = try network.forward(batch.x, ctx)
        streams["drop-path"] = ctx.rng
        var result = try ImageFeed.loss(logits, batch)
        if let aux {
            result.loss = try result.loss + aux.crossEntropy(labels: batch.labels).scaled(by: options.auxiliaryWeight)
            result.value = result.loss.item
        }
        return result
    }

    public func afterStep() throws {}

    func accuracy(_ set: ImageSet) throws -> ArchScore {
        try feed.score(set) { try network.forward($0, ForwardContext(training: false)).logits }
    }

    public func endEpoch(_ epoch: Int, note: (String) -> Void) throws -> ArchScore { try accuracy(data.heldout) }
    public func test() throws -> ArchScore { try accuracy(data.test) }
    public func sections() throws -> [CheckpointWriter.Section] { [] }
    public func restore(_ f: CheckpointFile) throws {}
}
