import NSASData
import NSASSearchSpace
import NSASTensor

/// What stand-alone training ends with.
public struct StandaloneResult: Sendable {
    public var genotype: Genotype
    public var validationAccuracy: Float
    public var testAccuracy: Float
    public var parameters: Int
    /// Multiply-adds of one image at inference.
    public var flops: Int
    public var seconds: Double
    public var epochs: [EpochMetrics]
}

/// Trains one architecture from scratch with its own weights (DARTS's evaluation recipe:
/// drop-path rising linearly to `dropPath`, auxiliary head weighted `auxiliaryWeight`, cutout).
public final class StandaloneTrainer {
    public let config: TrainConfig
    public let data: DataSplits
    public let network: StandaloneNetwork
    let sgd: SGD
    var dataRNG: RNG, dropRNG: RNG
    let log: RunLog
    let batcher: Batcher

    public init(genotype: Genotype, config: TrainConfig, data: DataSplits, log: RunLog) throws {
        var checked = config
        checked.genotype = checked.genotype ?? genotype.description
        try checked.validate()
        self.config = checked; self.data = data; self.log = log
        var initRNG = RNG(seed: config.seed)
        network = try StandaloneNetwork(genotype, config: CNNConfig(layers: config.layers, channels: config.channels,
                                                                    inputChannels: data.channels, imageSize: data.imageSize,
                                                                    classes: data.classes),
                                        auxiliary: config.auxiliaryWeight > 0, rng: &initRNG)
        sgd = SGD(parameters: network.parameters, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        dataRNG = RNG(seed: config.seed &+ 2); dropRNG = RNG(seed: config.seed &+ 4)
        batcher = Batcher(data)
    }

    public func run() throws -> StandaloneResult {
        log.line("nsas-train standalone: \(data.name); \(config.layers) cells, C=\(config.channels), \(network.parameterCount) parameters")
        log.line(network.genotype.description)
        var aug = data.augmentation
        aug.cutout = config.cutout
        let runner = EpochRunner(config: config, data: data, batcher: batcher, augmentation: aug, log: log, label: "standalone")
        var epochs: [EpochMetrics] = []
        var seconds = 0.0
        for e in 0..<config.epochs {
            let ctx = ForwardContext(training: true, dropPath: config.dropPath * Float(e) / Float(config.epochs), rng: dropRNG)
            var m = try runner.run(epoch: e, dataRNG: &dataRNG, sgd: sgd, parameters: network.parameters) { x, labels, _ in
                let (logits, aux) = try network.forward(x, ctx)
                var loss = try logits.crossEntropy(labels: labels)
                if let aux { loss = try loss + aux.crossEntropy(labels: labels).scaled(by: config.auxiliaryWeight) }
                try loss.backward()
                return (loss.item, logits)
            }
            dropRNG = ctx.rng
            m.heldoutAccuracy = try accuracy(data.heldout)
            seconds += m.seconds
            epochs.append(m)
            log.record(m.record)
            log.line(String(format: "epoch %d/%d: train loss %.4f, train accuracy %.3f, validation accuracy %.3f, %.1f s",
                            m.epoch, config.epochs, m.trainLoss, m.trainAccuracy, m.heldoutAccuracy!, m.seconds))
        }
        let valid = epochs.last!.heldoutAccuracy!, test = try accuracy(data.test)
        let flops = try network.multiplyAdds()
        log.record(["event": "standalone", "genotype": network.genotype.description, "canonical": network.genotype.canonical,
                    "validation_accuracy": valid, "test_accuracy": test, "parameters": network.parameterCount, "flops": flops, "seconds": seconds])
        log.line(String(format: "stand-alone: validation accuracy %.4f, test accuracy %.4f, %d parameters, %.2f M multiply-adds, %.1f s",
                        valid, test, network.parameterCount, Double(flops) / 1e6, seconds))
        return StandaloneResult(genotype: network.genotype, validationAccuracy: valid, testAccuracy: test,
                                parameters: network.parameterCount, flops: flops, seconds: seconds, epochs: epochs)
    }

    public func accuracy(_ set: ImageSet) throws -> Float {
        try evaluate(set, batcher: batcher, batchSize: config.evalBatch) { try network.forward($0, ForwardContext(training: false)).logits }.accuracy
    }
}
