import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// RandomNAS (Li & Talwalkar 2019): every step trains the path of one uniformly sampled
/// architecture (the `sampling` stream); the search ends with random search over the supernet.
public final class RandomNAS<Space: SearchSpace>: SearchMethod {
    public typealias Member = Space.Arch
    /// Paths trained per step (`--paths-per-step`): the current one and K - 1 more on the same batch.
    let pathsPerStep: Int
    public init(pathsPerStep: Int = 1) { self.pathsPerStep = pathsPerStep }
    public var name: String { "randomnas" }
    public func beginEpoch(_ ctx: SearchContext<Space>) throws {}

    public func step(_ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> MethodStep<Space.Arch> {
        let arch = ctx.space.sample(&ctx.streams[RandomStreams.sampling], allowNone: ctx.config.allowNone)
        guard pathsPerStep > 1 else { return MethodStep(result: try pathStep(arch, batch, weight: weight, ctx), member: arch, path: arch.canonical) }
        // The extra paths come from their own stream: the current paths are those of every other arm.
        let shared = try ctx.space.shared(batch, planned: [])
        let r = try pathStep(arch, shared, weight: weight, ctx)
        var extra: [String] = []
        for _ in 1..<pathsPerStep {
            let g = ctx.space.sample(&ctx.streams["extra-paths"], allowNone: ctx.config.allowNone)
            _ = try pathStep(g, shared, weight: weight, ctx)
            extra.append(g.canonical)
        }
        try ctx.space.finishShared(shared)
        return MethodStep(result: r, member: arch, path: ([arch.canonical] + extra).joined(separator: " + "), passes: Double(pathsPerStep))
    }

    public func annotate(_ metrics: inout EpochMetrics, _ ctx: SearchContext<Space>) throws {}
    public func select(_ ctx: SearchContext<Space>) throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any]) { try ctx.randomSearch() }
    public func sections(_ ctx: SearchContext<Space>) throws -> [CheckpointWriter.Section] { [] }
    public func restore(_ f: CheckpointFile, _ ctx: SearchContext<Space>) throws {}
}

/// Forward and backward of one architecture's training loss times `weight`.
func pathStep<Space: SearchSpace>(_ arch: Space.Arch, _ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> PathLoss {
    let r = try ctx.space.loss(.arch(arch), batch, regularized: true)
    try (weight == 1 ? r.loss : r.loss.scaled(by: weight)).backward()
    return r
}

/// WPL (Benyahia et al. 2019, Eq. 4): RandomNAS sampling where each sampled path trains for
/// `stepsPerPath` steps; its gradient gets eps * F * (theta - theta*), theta* the weights when
/// the path started and F a running diagonal Fisher estimate from squared loss gradients. (With
/// one step per path theta* would equal the current weights and the penalty would do nothing.)
public final class WPL<Space: SearchSpace>: SearchMethod {
    public typealias Member = Space.Arch
    let options: WPLOptions
    var penalty = WPLPenalty()
    /// The path being trained.
    public private(set) var path: Space.Arch?

    public init(options: WPLOptions) { self.options = options }
    public var name: String { "wpl" }
    public func beginEpoch(_ ctx: SearchContext<Space>) throws {}

    public func step(_ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> MethodStep<Space.Arch> {
        if ctx.globalStep % options.stepsPerPath == 0 || path == nil {
            path = ctx.space.sample(&ctx.streams[RandomStreams.sampling], allowNone: ctx.config.allowNone)
            penalty.anchor(at: ctx.space.parameters)
        }
        let arch = path!
        let r = try pathStep(arch, batch, weight: weight, ctx)
        try penalty.apply(ctx.space.parameters, eps: options.eps, decay: options.fisherDecay)
        return MethodStep(result: r, member: arch, path: arch.canonical)
    }

    public func annotate(_ metrics: inout EpochMetrics, _ ctx: SearchContext<Space>) throws {}
    public func select(_ ctx: SearchContext<Space>) throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any]) { try ctx.randomSearch() }

    public func sections(_ ctx: SearchContext<Space>) throws -> [CheckpointWriter.Section] {
        try penalty.sections(ctx.space.parameters, named: ctx.space.named(), path: path?.canonical)
    }

    public func restore(_ f: CheckpointFile, _ ctx: SearchContext<Space>) throws {
        guard let text = try penalty.restore(f, ctx.space.parameters, named: ctx.space.named()) else { return }
        do { path = text.isEmpty ? nil : try Space.Arch(parsing: text) } catch { throw CheckpointError(f.path, section: "wpl_state", "\(error)") }
    }
}
