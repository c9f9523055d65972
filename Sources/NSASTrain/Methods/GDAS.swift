import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// One hard Gumbel-softmax draw for every edge of a cell: the op index of each edge and its
/// straight-through weight (value 1, gradient of the soft probability).
public struct GumbelPath {
    public var ops: [Int]
    public var weights: [Tensor]
}

public enum Gumbel {
    /// probs = softmax((log_softmax(alpha) + g) / tau) per edge (row); the forward runs the argmax
    /// op with weight onehot - probs.detach() + probs. Noise that makes probs non-finite is drawn again.
    public static func sample(_ alpha: Tensor, tau: Float, rng: inout RNG) throws -> GumbelPath {
        let edges = alpha.shape[0], ops = alpha.shape[1]
        for _ in 0..<100 {
            let noise = try Tensor((0..<(edges * ops)).map { _ in rng.gumbel() }, shape: [edges, ops])
            let probs = try (alpha.logSoftmax() + noise).scaled(by: 1 / tau).softmax()
            guard probs.array.allSatisfy(\.isFinite) else { continue }
            let index = probs.argmaxRows()
            var onehot = [Float](repeating: 0, count: edges * ops)
            for (e, k) in index.enumerated() { onehot[e * ops + k] = 1 }
            let hard = try Tensor(onehot, shape: [edges, ops]) - probs.detach() + probs
            let weights = try index.enumerated().map { e, k in
                try hard.narrow(axis: 0, start: e, length: 1).narrow(axis: 1, start: k, length: 1).reshaped([1])
            }
            return GumbelPath(ops: index, weights: weights)
        }
        throw RunError.config("Gumbel sampling kept producing non-finite probabilities (tau \(tau)); the architecture logits have diverged")
    }
}

/// GDAS (Dong & Yang 2019): architecture logits per edge of each cell type; each step an
/// architecture update (Adam) on a held-out batch and then the weight update on the training
/// batch, each through a hard Gumbel-softmax path over every edge with straight-through gradients;
/// tau decays linearly from `tauMax` to `tauMin`. The result is the space's argmax genotype.
public final class GDAS<Space: SearchSpace>: SearchMethod {
    public typealias Member = EdgeOps
    public let alphas: [Tensor]
    let adam: Adam
    let options: GDASOptions
    let epochs: Int

    /// Logits ~ N(0, 1e-3^2) from the `logits` stream.
    public init(space: Space, config: RunConfig, streams: RandomStreams) throws {
        guard let o = config.gdas else { throw RunError.config("GDAS needs its options") }
        options = o; epochs = config.epochs
        alphas = Space.edgeCounts(space.options).enumerated().map { i, rows in
            let t = Tensor(zeros: [rows, Space.primitives.count], requiresGrad: true)
            t.fill { 1e-3 * streams[RandomStreams.logits].normal() }
            t.name = "alpha.\(i)"
            return t
        }
        adam = Adam(parameters: alphas, lr: o.archLR, beta1: 0.5, beta2: 0.999, weightDecay: o.archWeightDecay)
    }

    public var name: String { "gdas" }
    public func beginEpoch(_ ctx: SearchContext<Space>) throws {}

    public func tau(epoch: Int) -> Float {
        LinearDecay(start: options.tauMax, end: options.tauMin, total: max(1, epochs - 1)).value(epoch: epoch)
    }

    func draw(_ ctx: SearchContext<Space>) throws -> (EdgeOps, [[Tensor?]]) {
        let t = tau(epoch: ctx.epoch)
        let paths = try alphas.map { try Gumbel.sample($0, tau: t, rng: &ctx.streams[RandomStreams.gumbel]) }
        return (EdgeOps(paths.map(\.ops)), paths.map { $0.weights.map { Optional($0) } })
    }

    public func step(_ batch: Space.Batch, weight: Float, _ ctx: SearchContext<Space>) throws -> MethodStep<EdgeOps> {
        // Architecture step: Adam on the logits from a held-out batch.
        let held = try ctx.space.heldoutBatch(ctx.step, streams: ctx.streams)
        let (hp, hw) = try draw(ctx)
        adam.zeroGrad()
        let h = try ctx.space.loss(.edges(hp, weights: hw), held, regularized: false)
        guard h.value.isFinite else { throw RunError.diverged(epoch: ctx.epoch + 1, step: ctx.step + 1, loss: h.value) }
        try h.loss.backward()
        adam.step()
        ctx.space.commit(h, of: held)
        // Weight step on the training batch (the loop clips and steps SGD).
        ctx.sgd.zeroGrad()
        let (p, w) = try draw(ctx)
        let r = try ctx.space.loss(.edges(p, weights: w), batch, regularized: true)
        try (weight == 1 ? r.loss : r.loss.scaled(by: weight)).backward()
        adam.zeroGrad()   // the weight step's gradient on the logits is not used
        // Two passes: the architecture step's and the weight step's.
        return MethodStep(result: r, member: p, path: Space.pathText(p, options: ctx.space.options), passes: 2)
    }

    /// An archived path as sampled, every edge at weight 1 (no gradient reaches the logits).
    public func genotype(_ ctx: SearchContext<Space>) throws -> Space.Arch { try Space.genotype(logits: alphas, options: ctx.space.options) }

    public func annotate(_ metrics: inout EpochMetrics, _ ctx: SearchContext<Space>) throws {
        metrics.tau = tau(epoch: ctx.epoch)
        metrics.genotype = try genotype(ctx).canonical
    }

    public func select(_ ctx: SearchContext<Space>) throws -> (arch: Space.Arch, score: ArchScore, record: [String: Any]) {
        let g = try genotype(ctx)
        return (g, try ctx.space.score(g, batches: nil), ["how": "argmax of the architecture logits"])
    }

    struct State: Codable { var adamSteps: [Int]; var tau: Float }

    public func sections(_ ctx: SearchContext<Space>) throws -> [CheckpointWriter.Section] {
        var t: [StoredTensor] = alphas.map { StoredTensor(name: $0.name!, shape: $0.shape, values: $0.array) }
        for (i, a) in alphas.enumerated() {
            t.append(StoredTensor(name: "adam_m." + a.name!, shape: a.shape, values: adam.m[i]))
            t.append(StoredTensor(name: "adam_v." + a.name!, shape: a.shape, values: adam.v[i]))
        }
        return [RunCheckpointer.tensors("arch", t), try RunCheckpointer.json("arch_state", State(adamSteps: adam.steps, tau: tau(epoch: ctx.epoch)))]
    }

    public func restore(_ f: CheckpointFile, _ ctx: SearchContext<Space>) throws {
        let stored = try f.tensors("arch")
        try RunSchema.load(stored, into: alphas.map { ($0.name!, $0) }, path: f.path, section: "arch")
        let byName = Dictionary(stored.map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        for (i, a) in alphas.enumerated() {
            guard let m = byName["adam_m." + a.name!], let v = byName["adam_v." + a.name!], m.count == a.count, v.count == a.count else {
                throw CheckpointError(f.path, section: "arch", "lacks the Adam moments of \(a.name!)")
            }
            adam.m[i] = m; adam.v[i] = v
        }
        let st = try f.json("arch_state", as: State.self)
        guard st.adamSteps.count == alphas.count else { throw CheckpointError(f.path, section: "arch_state", "has \(st.adamSteps.count) Adam step counts for \(alphas.count) logits") }
        adam.steps = st.adamSteps
    }
}
