import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// What a search method sees of the run: the space, options, optimizer, random streams, log and
/// where in the run it is.
public final class SearchContext<Space: SearchSpace> {
    public let space: Space
    public let config: RunConfig
    public let sgd: SGD
    public let streams: RandomStreams
    public let log: RunLog
    /// 0-based epoch and step of the epoch being trained; steps since the start of the run.
    public internal(set) var epoch = 0, step = 0, globalStep = 0

    init(space: Space, config: RunConfig, streams: RandomStreams, log: RunLog) {
        self.space = space; self.config = config; self.streams = streams; self.log = log
        let o = config.optimizer
        sgd = SGD(parameters: space.parameters, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay)
    }

    /// Clips the gradients of the weights to the run's norm and takes one SGD step.
    func update() {
        clipGradNorm(space.parameters, maxNorm: config.optimizer.clip)
        sgd.step()
    }
}

/// One training step of a method: the current path's loss (already back-propagated), what an
/// NSAS archive would hold for it, and its line in the checkpoint's `paths` section.
public struct MethodStep<Member> {
    public var result: PathLoss
    public var member: Member
    public var path: String
    /// The step's compute in path passes: a path's forward and backward on the batch counts 1, a
    /// forward without backward 1/3 (the study's "tau against compute" axis).
    public var passes: Double = 1
}

/// A search method over any space: one training step, the losses NSAS needs of archived members,
/// the final choice, and its own checkpoint state. The search loop (`SearchEngine`) owns epochs,
/// batches, clipping and the SGD step, metrics, tracking, checkpoints and resume.
public protocol SearchMethod: AnyObject {
    associatedtype Space: SearchSpace
    /// What the NSAS archive holds for a step (a genotype, or GDAS's per-edge ops).
    associatedtype Member: Archivable

    var name: String { get }
    func beginEpoch(_ ctx: SearchContext<Space>) throws
    /// Forward and backward of the current path's loss times `weight` on `batch` (gradients
    /// accumulate in the weights); may run passes of its own first (GDAS's architecture step).
    func step(_ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> MethodStep<Member>
    /// The training loss of an archived member on `batch`, not yet back-propagated (by default
    /// the space's loss of `path(of:)`).
    func loss(of member: Member, _ batch: Space.Batch, _ ctx: SearchContext<Space>) throws -> PathLoss
    /// The path an archived member trains: the architecture's, or a GDAS path at weight 1.
    func path(of member: Member) -> Path<Space.Arch>
    /// Adds the method's fields to an epoch's metrics (GDAS: tau, argmax genotype).
    func annotate(_ metrics: inout EpochMetrics, _ ctx: SearchContext<Space>) throws
    /// The architecture the search ends with, its held-out score, and fields for the log.
    func select(_ ctx: SearchContext<Space>) throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any])
    func sections(_ ctx: SearchContext<Space>) throws -> [CheckpointWriter.Section]
    func restore(_ f: CheckpointFile, _ ctx: SearchContext<Space>) throws
    /// Checks that an archived member read from a checkpoint fits the space (one line if not).
    func check(_ member: Member, _ ctx: SearchContext<Space>) throws
}

extension SearchMethod {
    public func loss(of member: Member, _ batch: Space.Batch, _ ctx: SearchContext<Space>) throws -> PathLoss {
        try ctx.space.loss(path(of: member), batch, regularized: true)
    }
}

extension SearchMethod where Member == Space.Arch {
    public func check(_ member: Member, _ ctx: SearchContext<Space>) throws { try ctx.space.check(member) }
    public func path(of member: Member) -> Path<Space.Arch> { .arch(member) }
}

extension SearchMethod where Member == EdgeOps {
    public func check(_ member: Member, _ ctx: SearchContext<Space>) throws { try Space.check(member, options: ctx.space.options) }
    public func path(of member: Member) -> Path<Space.Arch> { .edges(member, weights: nil) }
}

extension SearchContext {
    /// Random search (Li & Talwalkar): `samples` architectures from the `selection` stream scored on
    /// `batches` held-out batches, the best `top` re-scored on the whole held-out split.
    func randomSearch() throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any]) {
        guard let o = config.selection else { throw RunError.config("random search needs selection options") }
        let kind = Space.score
        var scored: [(Space.Arch, ArchScore)] = []
        for i in 0..<o.samples {
            let arch = space.sample(&streams[RandomStreams.selection], allowNone: config.allowNone)
            scored.append((arch, try space.score(arch, batches: o.batches, batchSize: o.batchSize)))
            log.progress("random search: \(i + 1)/\(o.samples) architectures scored", step: i + 1, of: o.samples)
        }
        let top = scored.sorted { kind.better($0.1.value, $1.1.value) }.prefix(o.top)
        var best: (Space.Arch, ArchScore)? = nil
        for (k, (arch, _)) in top.enumerated() {
            let s = try space.score(arch, batches: nil)
            log.progress("random search: re-scoring the top \(top.count) on the full held-out split (\(k + 1))", step: k + 1, of: top.count)
            if best == nil || kind.better(s.value, best!.1.value) { best = (arch, s) }
        }
        return (best!.0, best!.1, ["samples": o.samples, "batches": o.batches, "top": o.top])
    }
}
