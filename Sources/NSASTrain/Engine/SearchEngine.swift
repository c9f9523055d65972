import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// What a search ends with.
public struct SearchOutcome: Sendable {
    /// The chosen architecture in the space's full text form and its canonical one-line key.
    public var genotype: String
    public var canonical: String
    /// Its held-out score (accuracy or perplexity, as `score` says) with inherited weights.
    public var value: Float
    public var score: ScoreKind
    public var epochs: [EpochMetrics]
}

/// A search of any space and method, as the command line, replay and tests drive it.
public protocol AnySearch: Replayable {
    var config: RunConfig { get }
    var checkpointer: RunCheckpointer? { get set }
    /// Architectures scored on the held-out split after every epoch (`--track`), in any text form.
    func track(_ texts: [String]) throws
    var trackedKeys: [String] { get }
    /// Restores a checkpoint of this run; returns the epochs it completed.
    func restore(from path: String) throws -> Int
    func run(startEpoch: Int) throws -> SearchOutcome
    func trainEpoch(_ epoch: Int) throws -> EpochMetrics
    /// The paths of the last epoch trained, as the `paths` section writes them.
    var pathTexts: [String] { get }
    func namedWeights() -> [(String, Tensor)]
    /// The method object (for tests and inspection: `NSAS<...>`, `GDAS<...>`).
    var methodObject: AnyObject { get }
    /// The space object (`DARTSCNNSpace`, ...).
    var spaceObject: AnyObject { get }
    var dataFingerprint: String { get }
    /// The wall time and path passes of every step of the last epoch trained (`nsas-bench nsas`).
    var stepTimes: [StepTime] { get }
    func beginEpoch(_ epoch: Int) throws -> EpochSteps
}

/// The steps of one epoch: `step()` trains the next (false when none is left), `finish()` gives
/// the epoch's metrics.
public struct EpochSteps {
    public let step: () throws -> Bool
    public let finish: () -> EpochMetrics
}

/// One training step's wall time (batch, method step, clipping and SGD) and its path passes.
public struct StepTime: Sendable {
    public var seconds: Double
    public var passes: Double
}

/// The one search loop: epochs of batches from the space, each step the method's forward and
/// backward, then gradient clipping and SGD; progress, metrics, tracking, a checkpoint every
/// epoch, resume from any checkpoint, and the method's final selection.
public final class SearchEngine<M: SearchMethod>: AnySearch {
    public typealias Space = M.Space
    public let ctx: SearchContext<Space>
    public let method: M
    public var checkpointer: RunCheckpointer?
    public var tracked: [Space.Arch] = []
    public private(set) var epochPaths: [String] = []
    public private(set) var stepTimes: [StepTime] = []

    public init(space: Space, method: M, config: RunConfig, streams: RandomStreams, log: RunLog) {
        ctx = SearchContext(space: space, config: config, streams: streams, log: log)
        self.method = method
    }

    public var config: RunConfig { ctx.config }
    public var space: Space { ctx.space }
    public var methodObject: AnyObject { method }
    public var spaceObject: AnyObject { ctx.space }
    public var dataFingerprint: String { space.dataFingerprint }
    public var pathTexts: [String] { epochPaths }
    public func namedWeights() -> [(String, Tensor)] { space.named() }
    public var trackedKeys: [String] { tracked.map(\.canonical) }
    /// Parsed and checked against the supernet before anything trains.
    public func track(_ texts: [String]) throws {
        tracked = try texts.map { try Space.Arch(parsing: $0) }
        for a in tracked { try space.check(a) }
    }

    public func trainEpoch(_ epoch: Int) throws -> EpochMetrics {
        let e = try beginEpoch(epoch)
        while try e.step() {}
        return e.finish()
    }

    /// An epoch trained step by step (`trainEpoch` runs it through; `nsas-bench nsas` interleaves
    /// the steps of two searches).
    public func beginEpoch(_ epoch: Int) throws -> EpochSteps {
        ctx.epoch = epoch
        ctx.sgd.lr = config.lr(epoch: epoch)
        let total = try space.beginEpoch(epoch, streams: ctx.streams)
        try method.beginEpoch(ctx)
        epochPaths = []
        stepTimes = []
        var tally = EpochTally(label: method.name, epoch: epoch, epochs: config.epochs, total: total, unit: space.unit)
        var s = 0
        return EpochSteps(step: { [self] in
            guard s < total else { return false }
            let t0 = Timing.now()
            ctx.step = s
            let batch = try space.trainBatch(s, streams: ctx.streams)
            ctx.sgd.zeroGrad()
            let st = try method.step(batch, weight: 1, ctx)
            guard st.result.value.isFinite else { throw RunError.diverged(epoch: epoch + 1, step: s + 1, loss: st.result.value) }
            ctx.update()
            space.commit(st.result, of: batch)
            epochPaths.append(st.path)
            ctx.globalStep += 1
            tally.passes += st.passes
            tally.add(st.result, step: s, log: log)
            stepTimes.append(StepTime(seconds: Timing.now() - t0, passes: st.passes))
            s += 1
            return true
        }, finish: { [self] in tally.metrics(lr: ctx.sgd.lr) })
    }

    var log: RunLog { ctx.log }

    /// Held-out scores of the tracked architectures (draws no random numbers of the run).
    func trackedScores() throws -> [TrackedScore]? {
        guard !tracked.isEmpty else { return nil }
        return try tracked.map { g in
            let s = try space.score(g, batches: nil)
            return TrackedScore(arch: g.canonical, score: Space.score, value: s.value, loss: s.loss)
        }
    }

    public func run(startEpoch: Int = 0) throws -> SearchOutcome {
        log.line("nsas-train \(method.name) (\(Space.id)): \(space.summary)")
        if startEpoch > 0 { log.line("resuming after epoch \(startEpoch)") }
        var epochs: [EpochMetrics] = []
        for e in startEpoch..<max(startEpoch, config.epochs) {
            var m = try trainEpoch(e)
            m.tracked = try trackedScores()
            try method.annotate(&m, ctx)
            epochs.append(m)
            log.record(m.record)
            var saved = ""
            try FiniteCheck.check(space.named(), momentum: ctx.sgd, epoch: m.epoch, step: ctx.globalStep)
            if let checkpointer {
                let t0 = Timing.now()
                let (path, size) = try checkpointer.write(epoch: m.epoch, sections: try sections(metrics: m))
                let dt = Timing.now() - t0
                log.record(["event": "checkpoint", "epoch": m.epoch, "path": path, "bytes": size, "seconds": dt])
                saved = String(format: "; checkpoint %@ (%.1f MB, %.2f s)", (path as NSString).lastPathComponent, Double(size) / 1e6, dt)
            }
            let quality = m.trainAccuracy.map { String(format: "train accuracy %.3f", $0) } ?? String(format: "train perplexity %.1f", m.trainPerplexity ?? .nan)
            let tau = m.tau.map { String(format: ", tau %.2f", $0) } ?? ""
            log.line(String(format: "epoch %d/%d: train loss %.4f, %@, lr %.5f%@, %.1f s, %.0f %@/s%@", m.epoch, config.epochs, m.trainLoss,
                            quality, m.lr, tau, m.seconds, m.throughput, space.unit, saved))
        }
        let (arch, score, record) = try method.select(ctx)
        let kind = Space.score
        log.record(["event": "selection", "genotype": arch.description, "canonical": arch.canonical,
                    kind.higherIsBetter ? "heldout_accuracy" : "valid_perplexity": score.value].merging(record) { a, _ in a })
        log.line(String(format: "selected (held-out %@ %.4f with inherited weights):", kind.name, score.value))
        log.line(arch.description)
        return SearchOutcome(genotype: arch.description, canonical: arch.canonical, value: score.value, score: kind, epochs: epochs)
    }

    /// The checkpoint of the epoch just trained.
    func sections(metrics: EpochMetrics) throws -> [CheckpointWriter.Section] {
        let network = try JSONDecoder().decode(JSONValue.self, from: JSONSerialization.data(withJSONObject: space.networkJSON))
        let state = RunSchema.State(epoch: metrics.epoch, globalStep: ctx.globalStep, steps: epochPaths.count, lr: ctx.sgd.lr)
        return try RunCheckpointer.common(config: RunSchema.Config(run: config, network: network, data: space.dataName, dataFingerprint: space.dataFingerprint), state: state,
                                          metrics: metrics, paths: epochPaths, streams: ctx.streams, named: space.named(), sgd: ctx.sgd)
            + method.sections(ctx)
    }

    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        let saved = try RunSchema.config(f)
        guard saved.run.space == Space.id else {
            throw CheckpointError(path, section: "config", "was written by a \(saved.run.space) run, not \(Space.id)")
        }
        let named = space.named()
        try RunSchema.load(f.tensors("weights"), into: named, path: path, section: "weights")
        try RunRestore.momentum(f, into: ctx.sgd, named: named)
        do { try ctx.streams.restore(try f.json("rng", as: RunSchema.Streams.self).streams) } catch {
            throw CheckpointError(path, section: "rng", "\(error)")
        }
        let state = try RunSchema.state(f)
        ctx.globalStep = state.globalStep
        ctx.epoch = state.epoch
        try method.restore(f, ctx)
        return state.epoch
    }
}
