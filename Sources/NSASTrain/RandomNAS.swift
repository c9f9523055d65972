import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// What a search ends with.
public struct SearchResult: Sendable {
    public var genotype: Genotype
    /// Accuracy of the chosen architecture on the full held-out split, with inherited weights.
    public var heldoutAccuracy: Float
    public var epochs: [EpochMetrics]
}

/// RandomNAS (Li & Talwalkar 2019): every step trains the path of one uniformly sampled
/// architecture; the search ends with random search over the trained supernet.
public final class RandomNASTrainer {
    public let config: TrainConfig
    public let data: DataSplits
    public let supernet: Supernet
    let sgd: SGD
    let sampler: ArchitectureSampler
    var samplingRNG: RNG, dataRNG: RNG
    let log: RunLog
    let batcher: Batcher
    /// The architecture trained at each step of the current epoch.
    public private(set) var epochPaths: [Genotype] = []
    /// Writes a checkpoint after every epoch when set.
    public var checkpointer: RunCheckpointer?
    /// Architectures scored on the held-out split after every epoch (`--track`).
    public var tracked: [Genotype] = []
    /// NSAS's constraint archive (method `nsas`), and the generator of its random draws.
    public private(set) var archive: ConstraintArchive<Genotype>
    var archiveRNG: RNG
    var globalStep = 0
    /// WPL state: the running diagonal Fisher and theta* of every parameter (by position in
    /// `supernet.parameters`, empty until first used), and the path being trained.
    var wpl = WPLPenalty()
    var wplPath: Genotype?

    public init(config: TrainConfig, data: DataSplits, log: RunLog) throws {
        try config.validate()
        self.config = config; self.data = data; self.log = log
        var initRNG = RNG(seed: config.seed)
        supernet = try Supernet(CNNConfig(layers: config.layers, channels: config.channels, inputChannels: data.channels,
                                          imageSize: data.imageSize, classes: data.classes), rng: &initRNG)
        sgd = SGD(parameters: supernet.parameters, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        sampler = ArchitectureSampler(allowNone: config.allowNone)
        samplingRNG = RNG(seed: config.seed &+ 1)
        dataRNG = RNG(seed: config.seed &+ 2)
        archiveRNG = RNG(seed: config.seed &+ 5)
        archive = ConstraintArchive(capacity: config.archiveSize, recentCapacity: config.recentSize, k: config.knnK, draws: config.noveltyDraws)
        batcher = Batcher(data)
    }

    /// One epoch of single-path training.
    public func trainEpoch(_ epoch: Int) throws -> EpochMetrics {
        epochPaths = []
        archive.clearChanges()
        let label = config.method.rawValue
        let runner = EpochRunner(config: config, data: data, batcher: batcher, augmentation: Augmentation(cropPadding: data.augmentation.cropPadding, flip: data.augmentation.flip),
                                 log: log, label: label)
        return try runner.run(epoch: epoch, dataRNG: &dataRNG, sgd: sgd, parameters: supernet.parameters) { x, labels, _ in
            if config.method == .wpl { return try wplStep(x, labels) }
            let arch = sampler.sample(&samplingRNG)
            epochPaths.append(arch)
            defer { globalStep += 1 }
            guard config.method == .nsas else { return try pathLoss(arch, x, labels, weight: 1) }
            // Algorithm 2: the archive fills during the first M steps with the plain loss.
            defer { archive.update(current: arch, step: globalStep, rng: &archiveRNG) }
            guard archive.isFull else { return try pathLoss(arch, x, labels, weight: 1) }
            let weight = config.nsasBeta / (config.constraintReduction == .mean ? Float(archive.members.count) : 1)
            switch config.nsasMode {
            case .loss:
                // Eq. 8 on the shared weights: each archived path's loss on the same batch
                // back-propagated in turn; the gradients add up before the one optimizer step.
                let current = try pathLoss(arch, x, labels, weight: 1)
                for m in archive.members { _ = try pathLoss(m, x, labels, weight: weight) }
                return current
            case .replay:
                // Extra single-path steps on the archived architectures, then the current step.
                for m in archive.members {
                    sgd.zeroGrad()
                    _ = try pathLoss(m, x, labels, weight: 1)
                    clipGradNorm(supernet.parameters, maxNorm: config.clip)
                    sgd.step()
                }
                sgd.zeroGrad()
                return try pathLoss(arch, x, labels, weight: 1)
            case .referenceCompat:
                // The constraint losses are evaluated but carry no gradient (`.item()` in the
                // reference code); the update is the current path's gradient times 0.5.
                for m in archive.members {
                    _ = try withNoGrad { try supernet.forward(x, arch: m, ForwardContext(training: true)).crossEntropy(labels: labels) }
                }
                return try pathLoss(arch, x, labels, weight: 0.5)
            }
        }
    }

    /// WPL (Benyahia et al. 2019, Eq. 4): each sampled path trains for `wplStepsPerPath` steps;
    /// its gradient gets eps * F * (theta - theta*), theta* the weights when the path started, F
    /// the running diagonal Fisher estimate from squared loss gradients.
    func wplStep(_ x: Tensor, _ labels: [Int]) throws -> (loss: Float, logits: Tensor) {
        let params = supernet.parameters
        if globalStep % config.wplStepsPerPath == 0 || wplPath == nil {
            wplPath = sampler.sample(&samplingRNG)
            wpl.anchor(at: params)
        }
        defer { globalStep += 1 }
        let arch = wplPath!
        epochPaths.append(arch)
        let result = try pathLoss(arch, x, labels, weight: 1)
        wpl.apply(params, eps: config.wplEps, decay: config.wplFisherDecay)
        return result
    }

    /// Forward and backward of one path's loss times `weight` (gradients accumulate); the loss
    /// value and logits.
    func pathLoss(_ arch: Genotype, _ x: Tensor, _ labels: [Int], weight: Float) throws -> (loss: Float, logits: Tensor) {
        let logits = try supernet.forward(x, arch: arch, ForwardContext(training: true))
        let loss = try logits.crossEntropy(labels: labels)
        try (weight == 1 ? loss : loss.scaled(by: weight)).backward()
        return (loss.item, logits)
    }

    /// Held-out accuracy of an architecture with inherited weights (on `batches` batches, or all).
    public func score(_ arch: Genotype, batches: Int? = nil) throws -> Float { try scored(arch, batches: batches).accuracy }

    /// Held-out accuracy and loss with inherited weights.
    func scored(_ arch: Genotype, batches: Int? = nil) throws -> (accuracy: Float, loss: Float) {
        try evaluate(data.heldout, batcher: batcher, batchSize: config.evalBatch, maxBatches: batches) {
            try supernet.forward($0, arch: arch, ForwardContext(training: false))
        }
    }

    /// Random search: `searchSamples` architectures scored on `searchBatches` held-out batches,
    /// the best `searchTop` re-scored on the whole held-out split; the best of those wins.
    public func select() throws -> (Genotype, Float) {
        var rng = RNG(seed: config.seed &+ 3)
        var scored: [(Genotype, Float)] = []
        for i in 0..<config.searchSamples {
            let arch = sampler.sample(&rng)
            scored.append((arch, try score(arch, batches: config.searchBatches)))
            log.progress("random search: \(i + 1)/\(config.searchSamples) architectures scored", step: i + 1, of: config.searchSamples)
        }
        let top = scored.sorted { $0.1 > $1.1 }.prefix(config.searchTop)
        var best: (Genotype, Float)? = nil
        for (k, (arch, _)) in top.enumerated() {
            let acc = try score(arch)
            log.progress("random search: re-scoring the top \(top.count) on the full held-out split (\(k + 1))", step: k + 1, of: top.count)
            if best == nil || acc > best!.1 { best = (arch, acc) }
        }
        return best!
    }

    /// WPL's state for a checkpoint: Fisher and theta* by parameter name, the current path and step.
    func wplSections() throws -> [CheckpointWriter.Section] {
        guard config.method == .wpl else { return [] }
        return try wpl.sections(supernet.parameters, named: supernet.named(), path: wplPath?.canonical, globalStep: globalStep)
    }

    func restoreWPL(_ f: CheckpointFile) throws {
        guard let (path, step) = try wpl.restore(f, supernet.parameters, named: supernet.named()) else { return }
        globalStep = step
        wplPath = path.isEmpty ? nil : try Genotype(parsing: path)
    }

    /// Restores weights, momentum and random-number states from a checkpoint of this run;
    /// returns the number of epochs it completed. Training then continues with `run(startEpoch:)`.
    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        try RunRestore.supernet(f, into: supernet, sgd: sgd)
        let rngs = try f.json("rng", as: RunCheckpointer.RNGs.self)
        do { samplingRNG = try RNG(state: rngs.sampling); dataRNG = try RNG(state: rngs.data) } catch {
            throw CheckpointError(path, section: "rng", "\(error)")
        }
        let state = try f.json("state", as: RunCheckpointer.State.self)
        if config.method == .wpl { try restoreWPL(f) }
        if config.method == .nsas {
            (archive, archiveRNG, globalStep) = try RunRestore.archive(f, of: Genotype.self)
        }
        return state.epoch
    }

    /// The whole search, from `startEpoch` (after `restore`) to the end.
    public func run(startEpoch: Int = 0) throws -> SearchResult {
        log.line("nsas-train \(config.method.rawValue): \(data.name); supernet \(config.layers) cells, C=\(config.channels), \(supernet.parameterCount) parameters")
        if startEpoch > 0 { log.line("resuming after epoch \(startEpoch)") }
        var epochs: [EpochMetrics] = []
        for e in startEpoch..<max(startEpoch, config.epochs) {
            var m = try trainEpoch(e)
            m.tracked = try trackedScores(tracked, supernet: supernet, data: data, batcher: batcher, batchSize: config.evalBatch)
            epochs.append(m)
            log.record(m.record)
            var saved = ""
            if let checkpointer {
                let t0 = Timing.now()
                let (path, size) = try checkpointer.write(epoch: m.epoch, config: config, network: supernet.config, dataName: data.name,
                                                          metrics: m, paths: epochPaths, sampling: samplingRNG, data: dataRNG,
                                                          named: supernet.named(), sgd: sgd,
                                                          archive: config.method == .nsas ? .init(archive: archive, rng: archiveRNG.state, globalStep: globalStep) : nil,
                                                          extra: try wplSections())
                let dt = Timing.now() - t0
                log.record(["event": "checkpoint", "epoch": m.epoch, "path": path, "bytes": size, "seconds": dt])
                saved = String(format: "; checkpoint %@ (%.1f MB, %.2f s)", (path as NSString).lastPathComponent, Double(size) / 1e6, dt)
            }
            log.line(String(format: "epoch %d/%d: train loss %.4f, train accuracy %.3f, lr %.5f, %.1f s, %.0f img/s%@",
                            m.epoch, config.epochs, m.trainLoss, m.trainAccuracy, m.lr, m.seconds, m.imagesPerSecond, saved))
        }
        let (arch, acc) = try select()
        log.record(["event": "selection", "genotype": arch.description, "canonical": arch.canonical, "heldout_accuracy": acc,
                    "samples": config.searchSamples, "top": config.searchTop])
        log.line(String(format: "selected (held-out accuracy %.3f with inherited weights):", acc))
        log.line(arch.description)
        return SearchResult(genotype: arch, heldoutAccuracy: acc, epochs: epochs)
    }
}
