import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// NSAS (Zhang et al., CVPR 2020) over any base method: an archive of M architectures the base
/// method trained (filled with the first M, then kept by `policy`: the paper's greedy novelty
/// search, random replacement, or the last M), and from then on, every step, the archived
/// architectures' losses on the same batch and the same shared weights (Eq. 8):
/// L = L_current + beta * (mean or sum) of the archived losses. `replay` trains them as extra
/// single-path steps instead; `reference-compat` evaluates them without gradient and halves the
/// current gradient, as the public code does. Archive draws use the `archive` stream only, so
/// the base method's sampled paths are the same as without NSAS.
public final class NSAS<Base: SearchMethod>: SearchMethod {
    public typealias Space = Base.Space
    public typealias Member = Base.Member
    public let base: Base
    let options: NSASOptions
    public private(set) var archive: ConstraintArchive<Member>

    public init(base: Base, options: NSASOptions) {
        self.base = base; self.options = options
        archive = ConstraintArchive(capacity: options.archiveSize, recentCapacity: options.recentSize, k: options.knnK,
                                    draws: options.noveltyDraws, policy: options.policy)
    }

    public var name: String { base.name == "randomnas" ? "nsas" : base.name + "-nsas" }

    public func beginEpoch(_ ctx: SearchContext<Space>) throws {
        archive.clearChanges()
        try base.beginEpoch(ctx)
    }

    public func step(_ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> MethodStep<Member> {
        var r: MethodStep<Member>
        if !archive.isFull {
            // Algorithm 2: the archive fills during the first M steps with the plain loss.
            r = try base.step(batch, weight: weight, ctx)
        } else {
            var w = options.beta / (options.reduction == .mean ? Float(archive.members.count) : 1)
            // --nsas-normalize: (L_current + beta * constraint) / (1 + beta), RandomNAS's step size.
            let current: Float = options.normalize ? 1 / (1 + options.beta) : 1
            if options.normalize { w /= 1 + options.beta }
            switch options.mode {
            case .loss:
                // The 1 + M paths share the batch: what no architecture changes, and ops several of
                // them run on it alike, run forward and backward once.
                let shared = try ctx.space.shared(batch, planned: archive.members.map(base.path(of:)))
                r = try base.step(shared, weight: current * weight, ctx)
                for m in archive.members { try base.loss(of: m, shared, ctx).loss.scaled(by: w * weight).backward() }
                try ctx.space.finishShared(shared)
            case .replay:
                for m in archive.members {
                    ctx.sgd.zeroGrad()
                    try base.loss(of: m, batch, ctx).loss.backward()
                    ctx.update()
                }
                ctx.sgd.zeroGrad()
                r = try base.step(batch, weight: weight, ctx)
            case .referenceCompat:
                for m in archive.members { _ = try withNoGrad { try base.loss(of: m, batch, ctx) } }
                r = try base.step(batch, weight: 0.5 * weight, ctx)
            }
            let m = Double(archive.members.count)
            r.passes += options.mode == .referenceCompat ? m / 3 : m
        }
        archive.update(current: r.member, step: ctx.globalStep, rng: &ctx.streams[RandomStreams.archive])
        return r
    }

    public func loss(of member: Member, _ batch: Space.Batch, _ ctx: SearchContext<Space>) throws -> PathLoss {
        try base.loss(of: member, batch, ctx)
    }

    public func check(_ member: Member, _ ctx: SearchContext<Space>) throws { try base.check(member, ctx) }
    public func path(of member: Member) -> Path<Space.Arch> { base.path(of: member) }

    public func annotate(_ metrics: inout EpochMetrics, _ ctx: SearchContext<Space>) throws { try base.annotate(&metrics, ctx) }
    public func select(_ ctx: SearchContext<Space>) throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any]) { try base.select(ctx) }

    public func sections(_ ctx: SearchContext<Space>) throws -> [CheckpointWriter.Section] {
        try base.sections(ctx) + [RunCheckpointer.json("archive", archive)]
    }

    public func restore(_ f: CheckpointFile, _ ctx: SearchContext<Space>) throws {
        try base.restore(f, ctx)
        let a = try f.json("archive", as: ConstraintArchive<Member>.self)
        guard a.capacity == options.archiveSize, a.policy == options.policy, a.k == options.knnK, a.draws == options.noveltyDraws,
              a.recentCapacity == options.recentSize else {
            throw CheckpointError(f.path, section: "archive", "holds an archive of \(a.capacity) (\(a.policy.rawValue), k \(a.k), \(a.draws) draws, "
                                  + "\(a.recentCapacity) recent), the run \(options.archiveSize) (\(options.policy.rawValue), k \(options.knnK), "
                                  + "\(options.noveltyDraws) draws, \(options.recentSize) recent)", advice: "the file is damaged; use an earlier epoch")
        }
        guard a.members.count <= a.capacity, a.recent.count <= a.recentCapacity, a.isConsistent else {
            throw CheckpointError(f.path, section: "archive", "holds \(a.members.count) members and \(a.recent.count) recent architectures for \(a.capacity) and \(a.recentCapacity) places",
                                  advice: "the file is damaged; use an earlier epoch")
        }
        do { for m in a.members + a.recent { try base.check(m, ctx) } } catch {
            throw CheckpointError(f.path, section: "archive", "\(error)", advice: "the file is damaged; use an earlier epoch")
        }
        archive = a
    }
}
