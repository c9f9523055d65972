import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// One hard Gumbel-softmax draw for every edge of a cell: the op index of each edge and its
/// straight-through weight (value 1, gradient of the soft probability).
public struct GumbelPath {
    public var ops: [Int]
    public var weights: [Tensor]
    /// Starts a GDAS path line in a checkpoint's `paths` section: these paths run every edge of a
    /// cell, so they are no genotype (two edges per node) and are told apart by this prefix.
    public static let prefix = "all-edges "

    /// `op~input|...` over all edges of the cell, in edge order.
    public func text(nodes: Int) -> String {
        var out: [String] = []
        for i in 0..<nodes { for j in 0..<(2 + i) { out.append("\(Primitive.allCases[ops[CNNConfig.edgeIndex(node: i, input: j)]].name)~\(j)") } }
        return out.joined(separator: "|")
    }
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
        throw TrainError.config("Gumbel sampling kept producing non-finite probabilities (tau \(tau)); the architecture logits have diverged")
    }

    /// The final cell: per node the two incoming edges whose strongest non-`none` op has the
    /// largest probability, each with that op.
    public static func cell(_ alpha: Tensor, nodes: Int) throws -> [Edge] {
        let p = try withNoGrad { try alpha.softmax() }.array
        let ops = alpha.shape[1]
        let noneIndex = Primitive.allCases.firstIndex(of: .none)!
        var edges: [Edge] = []
        for i in 0..<nodes {
            let candidates: [(input: Int, op: Int, p: Float)] = (0..<(2 + i)).map { j in
                let e = CNNConfig.edgeIndex(node: i, input: j)
                let best = (0..<ops).filter { $0 != noneIndex }.max { p[e * ops + $0] < p[e * ops + $1] }!
                return (j, best, p[e * ops + best])
            }
            for c in candidates.sorted(by: { $0.p > $1.p }).prefix(2).sorted(by: { $0.input < $1.input }) {
                edges.append(Edge(Primitive.allCases[c.op], c.input))
            }
        }
        return edges
    }
}

/// GDAS (Dong & Yang 2019): architecture logits per edge; each step an architecture update
/// (Adam) on a held-out batch and a weight update (SGD) on a training batch, each through a
/// hard Gumbel-softmax path with straight-through gradients; tau decays linearly from 10 to 0.1.
public final class GDASTrainer {
    public let config: TrainConfig
    public let data: DataSplits
    public let supernet: Supernet
    public let alphaNormal: Tensor, alphaReduce: Tensor
    let sgd: SGD
    let adam: Adam
    var gumbelRNG: RNG, dataRNG: RNG
    /// Draws the held-out batches of the architecture steps (apart from dataRNG, which the epoch
    /// loop holds while a step runs).
    var heldoutRNG: RNG
    let log: RunLog
    let batcher: Batcher
    public private(set) var epochPaths: [String] = []
    public var checkpointer: RunCheckpointer?
    /// Architectures scored on the held-out split after every epoch (`--track`).
    public var tracked: [Genotype] = []
    /// GDAS-NSAS: the archive of sampled paths, its generator, the step count.
    public private(set) var archive: ConstraintArchive<GDASArchitecture>
    var archiveRNG: RNG
    var globalStep = 0
    public var tauMax: Float = 10, tauMin: Float = 0.1

    public init(config: TrainConfig, data: DataSplits, log: RunLog) throws {
        try config.validate()
        self.config = config; self.data = data; self.log = log
        var initRNG = RNG(seed: config.seed)
        let net = CNNConfig(layers: config.layers, channels: config.channels, inputChannels: data.channels,
                            imageSize: data.imageSize, classes: data.classes)
        supernet = try Supernet(net, rng: &initRNG)
        let shape = [net.edgesPerCell, Primitive.allCases.count]
        func logits() -> Tensor {
            let t = Tensor(zeros: shape, requiresGrad: true)
            for i in 0..<t.count { t.ptr[i] = 1e-3 * initRNG.normal() }
            return t
        }
        alphaNormal = logits(); alphaReduce = logits()
        alphaNormal.name = "alpha_normal"; alphaReduce.name = "alpha_reduce"
        sgd = SGD(parameters: supernet.parameters, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        adam = Adam(parameters: [alphaNormal, alphaReduce], lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3)
        gumbelRNG = RNG(seed: config.seed &+ 1)
        dataRNG = RNG(seed: config.seed &+ 2)
        heldoutRNG = RNG(seed: config.seed &+ 6)
        archiveRNG = RNG(seed: config.seed &+ 5)
        archive = ConstraintArchive(capacity: config.archiveSize, recentCapacity: config.recentSize, k: config.knnK, draws: config.noveltyDraws)
        batcher = Batcher(data)
    }

    public func tau(epoch: Int) -> Float {
        LinearDecay(start: tauMax, end: tauMin, total: max(1, config.epochs - 1)).value(epoch: epoch)
    }

    func pathLoss(_ x: Tensor, _ labels: [Int], tau: Float) throws -> (loss: Tensor, logits: Tensor, text: String, arch: GDASArchitecture) {
        let n = try Gumbel.sample(alphaNormal, tau: tau, rng: &gumbelRNG), r = try Gumbel.sample(alphaReduce, tau: tau, rng: &gumbelRNG)
        let logits = try supernet.forward(x, normalOps: n.ops, reduceOps: r.ops, normalWeights: n.weights, reduceWeights: r.weights,
                                          ForwardContext(training: true))
        return (try logits.crossEntropy(labels: labels), logits, GumbelPath.prefix + n.text(nodes: supernet.config.nodes) + "||" + r.text(nodes: supernet.config.nodes),
                GDASArchitecture(normal: n.ops, reduce: r.ops))
    }

    /// GDAS-NSAS: the archived paths' losses on the same batch, on the shared weights (the paths
    /// as sampled, weight 1, so no gradient reaches the logits), back-propagated in turn.
    func constraintLosses(_ x: Tensor, _ labels: [Int]) throws {
        guard config.method == .gdasNSAS, archive.isFull else { return }
        let weight = config.nsasBeta / (config.constraintReduction == .mean ? Float(archive.members.count) : 1)
        let none = [Tensor?](repeating: nil, count: supernet.config.edgesPerCell)
        for m in archive.members {
            try supernet.forward(x, normalOps: m.normal, reduceOps: m.reduce, normalWeights: none, reduceWeights: none,
                                 ForwardContext(training: true)).crossEntropy(labels: labels).scaled(by: weight).backward()
        }
    }

    public func trainEpoch(_ epoch: Int) throws -> EpochMetrics {
        epochPaths = []
        archive.clearChanges()
        let t = tau(epoch: epoch)
        let runner = EpochRunner(config: config, data: data, batcher: batcher,
                                 augmentation: Augmentation(cropPadding: data.augmentation.cropPadding, flip: data.augmentation.flip),
                                 log: log, label: config.method.rawValue)
        return try runner.run(epoch: epoch, dataRNG: &dataRNG, sgd: sgd, parameters: supernet.parameters) { x, labels, _ in
            // Architecture step: Adam on the logits from a held-out batch.
            let indices = (0..<config.batch).map { _ in heldoutRNG.int(below: data.heldout.count) }
            let (hx, hy) = batcher.batch(data.heldout, indices, rng: &heldoutRNG)
            adam.zeroGrad()
            try pathLoss(hx, hy, tau: t).loss.backward()
            adam.step()
            // Weight step on the training batch (the runner clips and steps SGD).
            sgd.zeroGrad()
            let (loss, logits, text, arch) = try pathLoss(x, labels, tau: t)
            epochPaths.append(text)
            try loss.backward()
            try constraintLosses(x, labels)
            if config.method == .gdasNSAS { archive.update(current: arch, step: globalStep, rng: &archiveRNG) }
            globalStep += 1
            adam.zeroGrad()
            return (loss.item, logits)
        }
    }

    /// The argmax genotype of the current logits.
    public func genotype() throws -> Genotype {
        try Genotype(normal: Gumbel.cell(alphaNormal, nodes: supernet.config.nodes), reduce: Gumbel.cell(alphaReduce, nodes: supernet.config.nodes))
    }

    func archiveSection() throws -> [CheckpointWriter.Section] {
        guard config.method == .gdasNSAS else { return [] }
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return [CheckpointWriter.Section("archive", Array(try enc.encode(RunCheckpointer.ArchiveState(archive: archive, rng: archiveRNG.state, globalStep: globalStep))))]
    }

    struct ArchState: Decodable { var adam_steps: [Int]; var gumbel_rng: [UInt64]; var heldout_rng: [UInt64] }

    /// Restores weights, momentum, logits, Adam state and random-number states from a checkpoint
    /// of this run; returns the epochs it completed.
    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        try RunRestore.supernet(f, into: supernet, sgd: sgd)
        let arch = Dictionary(try f.tensors("arch").map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        try RunRestore.load(Array(arch.values), into: [("alpha_normal", alphaNormal), ("alpha_reduce", alphaReduce)], path: path, section: "arch")
        for (i, p) in adam.parameters.enumerated() {
            guard let m = arch["adam_m." + (p.name ?? "")], let v = arch["adam_v." + (p.name ?? "")], m.values.count == p.count, v.values.count == p.count else {
                throw CheckpointError(path, section: "arch", "lacks the Adam moments of \(p.name ?? "?")")
            }
            adam.m[i] = m.values; adam.v[i] = v.values
        }
        let st = try f.json("arch_state", as: ArchState.self)
        let rngs = try f.json("rng", as: RunCheckpointer.RNGs.self)
        do {
            adam.steps = st.adam_steps
            gumbelRNG = try RNG(state: st.gumbel_rng); heldoutRNG = try RNG(state: st.heldout_rng); dataRNG = try RNG(state: rngs.data)
        } catch { throw CheckpointError(path, section: "arch_state", "\(error)") }
        if config.method == .gdasNSAS {
            (archive, archiveRNG, globalStep) = try RunRestore.archive(f, of: GDASArchitecture.self)
        }
        return try f.json("state", as: RunCheckpointer.State.self).epoch
    }

    public func run(startEpoch: Int = 0) throws -> SearchResult {
        log.line("nsas-train \(config.method.rawValue): \(data.name); supernet \(config.layers) cells, C=\(config.channels), \(supernet.parameterCount) parameters")
        if startEpoch > 0 { log.line("resuming after epoch \(startEpoch)") }
        var epochs: [EpochMetrics] = []
        for e in startEpoch..<max(startEpoch, config.epochs) {
            var m = try trainEpoch(e)
            m.tracked = try trackedScores(tracked, supernet: supernet, data: data, batcher: batcher, batchSize: config.evalBatch)
            epochs.append(m)
            log.record(m.record.merging(["tau": tau(epoch: e), "genotype": try genotype().canonical]) { a, _ in a })
            var saved = ""
            if let checkpointer {
                let moments = adam.parameters.indices.flatMap { i in
                    [StoredTensor(name: "adam_m." + (adam.parameters[i].name ?? "\(i)"), shape: adam.parameters[i].shape, values: adam.m[i]),
                     StoredTensor(name: "adam_v." + (adam.parameters[i].name ?? "\(i)"), shape: adam.parameters[i].shape, values: adam.v[i])]
                }
                let arch = [StoredTensor(name: "alpha_normal", shape: alphaNormal.shape, values: alphaNormal.array),
                            StoredTensor(name: "alpha_reduce", shape: alphaReduce.shape, values: alphaReduce.array)] + moments
                let state = Array(try JSONSerialization.data(withJSONObject: ["tau": tau(epoch: e), "adam_steps": adam.steps,
                                                                               "gumbel_rng": gumbelRNG.state.map { NSNumber(value: $0) },
                                                                               "heldout_rng": heldoutRNG.state.map { NSNumber(value: $0) }],
                                                              options: [.sortedKeys]))
                let (path, size) = try checkpointer.write(epoch: m.epoch, config: config, network: supernet.config, dataName: data.name,
                                                          metrics: m, paths: [], pathText: epochPaths, sampling: gumbelRNG, data: dataRNG,
                                                          named: supernet.named(), sgd: sgd,
                                                          extra: [CheckpointWriter.Section("arch", TensorCodec.encode(arch), codec: .zstdShuffle4),
                                                                  CheckpointWriter.Section("arch_state", state)] + (try archiveSection()))
                saved = String(format: "; checkpoint %@ (%.1f MB)", (path as NSString).lastPathComponent, Double(size) / 1e6)
            }
            log.line(String(format: "epoch %d/%d: train loss %.4f, train accuracy %.3f, tau %.2f, %.1f s%@",
                            m.epoch, config.epochs, m.trainLoss, m.trainAccuracy, tau(epoch: e), m.seconds, saved))
        }
        let g = try genotype()
        let acc = try evaluate(data.heldout, batcher: batcher, batchSize: config.evalBatch) {
            try supernet.forward($0, arch: g, ForwardContext(training: false))
        }.accuracy
        log.record(["event": "selection", "genotype": g.description, "canonical": g.canonical, "heldout_accuracy": acc])
        log.line(String(format: "selected (argmax of the logits; held-out accuracy %.3f with inherited weights):", acc))
        log.line(g.description)
        return SearchResult(genotype: g, heldoutAccuracy: acc, epochs: epochs)
    }
}

/// A search in the CNN space, whichever method: what the command line needs to start, resume and finish one.
public protocol CNNSearch: AnyObject {
    var checkpointer: RunCheckpointer? { get set }
    var tracked: [Genotype] { get set }
    func restore(from path: String) throws -> Int
    func run(startEpoch: Int) throws -> SearchResult
}

extension RandomNASTrainer: CNNSearch {}
extension GDASTrainer: CNNSearch {}

/// The trainer of `config.method`: GDAS and GDAS-NSAS, or the RandomNAS family (randomnas, nsas, wpl).
public func makeCNNSearch(config: TrainConfig, data: DataSplits, log: RunLog) throws -> any CNNSearch {
    config.method == .gdas || config.method == .gdasNSAS ? try GDASTrainer(config: config, data: data, log: log)
                                                         : try RandomNASTrainer(config: config, data: data, log: log)
}
