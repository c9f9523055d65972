import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// What stand-alone training ends with.
public struct StandaloneResult: Sendable {
    public var genotype: String
    public var canonical: String
    public var score: ScoreKind
    /// Validation and test score (accuracy or perplexity).
    public var validation: Float
    public var test: Float
    public var parameters: Int
    /// Multiply-adds of one item at inference, where the space counts them.
    public var flops: Int?
    public var seconds: Double
    public var epochs: [EpochMetrics]
}

/// Stand-alone training of any space's architecture, as the command line and ground truth drive it.
public protocol AnyStandalone: Replayable {
    var config: RunConfig { get }
    var checkpointer: RunCheckpointer? { get set }
    func restore(from path: String) throws -> Int
    func run(startEpoch: Int) throws -> StandaloneResult
    func namedWeights() -> [(String, Tensor)]
    /// One epoch as `run` trains it (training, then validation, which may switch to averaged SGD).
    func replayEpoch(_ epoch: Int) throws
    /// The loaded data, to share with the next run of the same space and options.
    var data: Any { get }
    var dataFingerprint: String { get }
}

/// The one stand-alone loop: epochs of the model's batches, SGD with clipping, validation after
/// every epoch, a checkpoint every epoch (weights, momentum, streams, the recipe's state), resume.
public final class StandaloneEngine<S: StandaloneSpace>: AnyStandalone {
    public let model: S.Standalone
    public let genotype: S.Arch
    public let config: RunConfig
    public var checkpointer: RunCheckpointer?
    let sgd: SGD
    let streams: RandomStreams
    let log: RunLog
    var globalStep = 0
    var seconds = 0.0
    public let data: Any

    init(_ genotype: S.Arch, config: RunConfig, data: S.Data?, log: RunLog) throws {
        let options = try config.options(S.self)
        let loaded = try data ?? S.loadData(options, setup: config.setup)
        try S.checkMemory(options, data: loaded, setup: config.setup, supernet: false, training: true)
        streams = RandomStreams(seed: config.seed)
        model = try S.standalone(genotype, options: options, setup: config.setup, data: loaded, streams: streams)
        self.genotype = genotype; self.config = config; self.log = log; self.data = loaded
        let o = config.optimizer
        sgd = SGD(parameters: model.parameters, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay)
    }

    public func namedWeights() -> [(String, Tensor)] { model.named() }
    public var dataFingerprint: String { model.dataFingerprint }

    public func run(startEpoch: Int = 0) throws -> StandaloneResult {
        log.line("nsas-train standalone (\(S.id)): \(model.summary)")
        log.line(genotype.description)
        if startEpoch > 0 { log.line("resuming after epoch \(startEpoch)") }
        var epochs: [EpochMetrics] = []
        var last: ArchScore? = nil
        for e in startEpoch..<max(startEpoch, config.epochs) {
            let (m, v) = try epoch(e)
            last = v
            seconds += m.seconds
            epochs.append(m)
            log.record(m.record)
            try FiniteCheck.check(model.named(), momentum: sgd, epoch: m.epoch, step: globalStep)
            if let checkpointer {
                let state = RunSchema.State(epoch: m.epoch, globalStep: globalStep, steps: 0, lr: sgd.lr)
                let network = try JSONValue(encoding: ["genotype": genotype.canonical])
                let sections = try RunCheckpointer.common(config: RunSchema.Config(run: config, network: network, data: model.dataName, dataFingerprint: model.dataFingerprint), state: state,
                                                          metrics: m, paths: [], streams: streams, named: model.named(), sgd: sgd)
                    + model.sections() + [RunCheckpointer.json("standalone", ["seconds": seconds])]
                try checkpointer.write(epoch: m.epoch, sections: sections)
            }
            log.line(String(format: "epoch %d/%d: train loss %.4f, validation %@ %.4f, %.1f s", m.epoch, config.epochs, m.trainLoss,
                            S.score.name, v.value, m.seconds))
        }
        let valid = try last ?? model.endEpoch(config.epochs) { _ in }, test = try model.test()
        let flops = try model.multiplyAdds()
        let params = model.parameters.reduce(0) { $0 + $1.count }
        let n = S.score.name
        var record: [String: Any] = ["event": "standalone", "genotype": genotype.description, "canonical": genotype.canonical,
                                     S.score.higherIsBetter ? "validation_accuracy" : "valid_perplexity": valid.value,
                                     "test_" + n: test.value, "parameters": params, "seconds": seconds]
        if let flops { record["flops"] = flops }
        log.record(record)
        log.line(String(format: "stand-alone: validation %@ %.4f, test %@ %.4f, %d parameters%@, %.1f s", n, valid.value, n, test.value, params,
                        flops.map { String(format: ", %.2f M multiply-adds", Double($0) / 1e6) } ?? "", seconds))
        return StandaloneResult(genotype: genotype.description, canonical: genotype.canonical, score: S.score, validation: valid.value,
                                test: test.value, parameters: params, flops: flops, seconds: seconds, epochs: epochs)
    }

    /// Training and validation of one epoch.
    func epoch(_ e: Int) throws -> (EpochMetrics, ArchScore) {
        var m = try trainEpoch(e)
        let v = try model.endEpoch(e) { log.line($0) }
        if S.score.higherIsBetter { m.heldoutAccuracy = v.value } else { m.validPerplexity = v.value }
        return (m, v)
    }

    public func replayEpoch(_ e: Int) throws { _ = try epoch(e) }

    func trainEpoch(_ e: Int) throws -> EpochMetrics {
        sgd.lr = config.lr(epoch: e)
        let total = try model.beginEpoch(e, of: config.epochs, streams: streams)
        var tally = EpochTally(label: "standalone", epoch: e, epochs: config.epochs, total: total, unit: model.unit)
        for s in 0..<total {
            let batch = try model.trainBatch(s, streams: streams)
            sgd.zeroGrad()
            let r = try model.loss(batch, streams: streams)
            try r.loss.backward()
            guard r.value.isFinite else { throw RunError.diverged(epoch: e + 1, step: s + 1, loss: r.value) }
            clipGradNorm(model.parameters, maxNorm: config.optimizer.clip)
            sgd.step()
            try model.afterStep()
            model.commit(r, of: batch)
            globalStep += 1
            tally.add(r, step: s, log: log)
        }
        return tally.metrics(lr: sgd.lr)
    }

    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        let named = model.named()
        try RunSchema.load(f.tensors("weights"), into: named, path: path, section: "weights")
        try RunRestore.momentum(f, into: sgd, named: named)
        do { try streams.restore(try f.json("rng", as: RunSchema.Streams.self).streams) } catch {
            throw CheckpointError(path, section: "rng", "\(error)")
        }
        try model.restore(f)
        let state = try RunSchema.state(f)
        globalStep = state.globalStep
        seconds = (try? f.json("standalone", as: [String: Double].self))?["seconds"] ?? 0
        return state.epoch
    }
}

public enum Standalone {
    /// Stand-alone training of `config.standalone.genotype` in `config.space`.
    public static func make(_ config: RunConfig, log: RunLog, data: Any? = nil) throws -> any AnyStandalone {
        try config.validate()
        guard let s = config.standalone else { throw RunError.config("--method standalone needs --genotype") }
        return try open(SpaceRegistry.type(config.space), config, s.genotype, log, data)
    }

    static func open<S: SearchSpace>(_ type: S.Type, _ config: RunConfig, _ genotype: String, _ log: RunLog, _ data: Any?) throws -> any AnyStandalone {
        guard let t = type as? any StandaloneSpace.Type else { throw RunError.config("the \(S.id) space has no stand-alone training") }
        return try openStandalone(t, config, genotype, log, data)
    }

    static func openStandalone<S: StandaloneSpace>(_ type: S.Type, _ config: RunConfig, _ genotype: String, _ log: RunLog, _ data: Any?) throws -> any AnyStandalone {
        try StandaloneEngine<S>(try S.Arch(parsing: genotype), config: config, data: data as? S.Data, log: log)
    }

    /// Continues a stand-alone run from its newest checkpoint.
    public static func resume(_ dir: String, log: RunLog, keepOptimizer: Bool, allowChangedData: Bool = false) throws -> (run: any AnyStandalone, done: Int) {
        let latest = try RunDirectory.latest(dir)
        let saved = try RunSchema.config(try CheckpointFile(latest))
        let run = try make(saved.run, log: log)
        try DataCheck.same(saved, now: run.dataFingerprint, dir: dir, allowChanged: allowChangedData, log: log)
        run.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: keepOptimizer)
        let done = try run.restore(from: latest)
        log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(saved.run.epochs) epochs done)")
        return (run, done)
    }
}
