import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// GDAS and GDAS-NSAS in the DARTS RNN space: logits over the 5 ops of every edge (node k reads
/// states 0...k: 36 edges for 8 nodes); each step an architecture update (Adam 3e-4, betas
/// 0.5/0.999, weight decay 1e-3) on a validation window, then a weight update (SGD) on a training
/// window, each through a hard Gumbel-softmax choice of one op per edge with straight-through
/// gradients, every edge of the cell running (`RecurrentCell.stepAllEdges`); tau decays linearly
/// from 10 to 0.1. The final genotype takes, per node, the input whose strongest non-`none` op is
/// most probable, with that op (DARTS's RNN parse). GDAS-NSAS adds the archived op choices'
/// losses on the same window (Eq. 8).
public final class RNNGDASTrainer {
    public let config: RNNTrainConfig
    public let corpus: Corpus
    public let network: RecurrentNetwork
    public let alpha: Tensor
    let sgd: SGD
    let adam: Adam
    let log: RunLog
    var gumbelRNG: RNG, dropoutRNG: RNG, archiveRNG: RNG
    var archive: ConstraintArchive<GDASArchitecture>
    var globalStep = 0
    var epochPaths: [String] = []
    public var directory: String?

    public init(config: RNNTrainConfig, corpus: Corpus, log: RunLog) throws {
        try config.validate()
        guard config.method == .gdas || config.method == .gdasNSAS else { throw TrainError.config("RNNGDASTrainer runs gdas and gdas-nsas") }
        self.config = config; self.corpus = corpus; self.log = log
        var initRNG = RNG(seed: config.seed)
        network = try RecurrentNetwork(config.network(vocabulary: corpus.vocabularySize), rng: &initRNG)
        alpha = Tensor(zeros: [RecurrentCell.edgeCount(nodes: config.nodes), RecurrentPrimitive.allCases.count], requiresGrad: true)
        for i in 0..<alpha.count { alpha.ptr[i] = 1e-3 * initRNG.normal() }
        alpha.name = "alpha_recurrent"
        sgd = SGD(parameters: network.parameters, lr: config.lr, momentum: 0, weightDecay: config.weightDecay)
        adam = Adam(parameters: [alpha], lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3)
        gumbelRNG = RNG(seed: config.seed &+ 1); dropoutRNG = RNG(seed: config.seed &+ 2); archiveRNG = RNG(seed: config.seed &+ 3)
        archive = ConstraintArchive(capacity: config.archiveSize, recentCapacity: config.recentSize, k: config.knnK, draws: config.noveltyDraws)
    }

    public func tau(epoch: Int) -> Float {
        LinearDecay(start: config.tauMax, end: config.tauMin, total: max(1, config.epochs - 1)).value(epoch: epoch)
    }

    /// The argmax genotype of logits (edges x 5) for `nodes` nodes.
    public static func genotype(_ alpha: Tensor, nodes: Int) throws -> RecurrentGenotype {
        let p = try withNoGrad { try alpha.softmax() }.array
        let ops = RecurrentPrimitive.allCases
        let noneIndex = ops.firstIndex(of: .none)!
        var edges: [RecurrentEdge] = []
        for k in 0..<nodes {
            let best = (0...k).map { j -> (input: Int, op: Int, p: Float) in
                let e = RecurrentCell.edgeIndex(node: k, input: j)
                let op = ops.indices.filter { $0 != noneIndex }.max { p[e * ops.count + $0] < p[e * ops.count + $1] }!
                return (j, op, p[e * ops.count + op])
            }.max { $0.p < $1.p }!
            edges.append(RecurrentEdge(ops[best.op], best.input))
        }
        return try RecurrentGenotype(recurrent: edges)
    }

    public func genotype() throws -> RecurrentGenotype { try Self.genotype(alpha, nodes: config.nodes) }

    static func pathText(_ ops: [Int], nodes: Int) -> String {
        var out: [String] = []
        for k in 0..<nodes { for j in 0...k { out.append("\(RecurrentPrimitive.allCases[ops[RecurrentCell.edgeIndex(node: k, input: j)]].rawValue)~\(j)") } }
        return GumbelPath.prefix + "rnn:" + out.joined(separator: "|")
    }

    /// Loss (with TAR when `tar`) of one window through a Gumbel path or fixed ops.
    func windowLoss(_ x: [Int32], _ y: [Int32], steps: Int, hidden: Tensor, ops: [Int], weights: [Tensor?], tar: Bool,
                    masks: RecurrentMasks, wordMask: Tensor?) throws -> (Tensor, RecurrentNetwork.Output) {
        let prims = ops.map { RecurrentPrimitive.allCases[$0] }
        let out = try network.forward(tokens: x, targets: y, steps: steps, batch: config.batch, hidden: hidden, masks: masks, wordMask: wordMask) {
            try self.network.cell.stepAllEdges($0, $1, ops: prims, weights: weights, masks: masks)
        }
        let loss = tar && config.tar > 0 ? try out.loss + RecurrentNetwork.tar(out.raw, batch: config.batch).scaled(by: config.tar) : out.loss
        return (loss, out)
    }

    public func trainEpoch(_ e: Int) throws -> RNNEpochMetrics {
        let train = Corpus.batchify(corpus.train, batch: config.batch), valid = Corpus.batchify(corpus.valid, batch: config.batch)
        guard train.rows >= 2, valid.rows >= 2 else { throw TrainError.config("the training or validation text is too short for batch \(config.batch)") }
        let windows = (train.rows - 1 + config.bptt - 1) / config.bptt
        let total = config.maxSteps > 0 ? min(config.maxSteps, windows) : windows
        let validWindows = (valid.rows - 1 + config.bptt - 1) / config.bptt
        let t = tau(epoch: e)
        var h = network.initialHidden(batch: config.batch), hv = network.initialHidden(batch: config.batch)
        let start = Timing.now()
        var lossSum = 0.0, tokens = 0
        epochPaths = []
        archive.clearChanges()
        for s in 0..<total {
            // Architecture step: Adam on the logits from the next validation window.
            let (vx, vy, vsteps) = TextEval.window(valid, batch: config.batch, start: (s % validWindows) * config.bptt, bptt: config.bptt)
            if s % validWindows == 0 { hv = network.initialHidden(batch: config.batch) }
            let (vm, vw) = try network.masks(batch: config.batch, training: true, rng: &dropoutRNG)
            let vp = try Gumbel.sample(alpha, tau: t, rng: &gumbelRNG)
            adam.zeroGrad()
            let (vloss, vout) = try windowLoss(vx, vy, steps: vsteps, hidden: hv, ops: vp.ops, weights: vp.weights, tar: false, masks: vm, wordMask: vw)
            guard vloss.item.isFinite else { throw TrainError.diverged(epoch: e + 1, step: s + 1, loss: vloss.item) }
            try vloss.backward()
            adam.step()
            hv = vout.hidden.detach()
            // Weight step on the training window.
            let (x, y, steps) = TextEval.window(train, batch: config.batch, start: s * config.bptt, bptt: config.bptt)
            let (masks, wordMask) = try network.masks(batch: config.batch, training: true, rng: &dropoutRNG)
            let path = try Gumbel.sample(alpha, tau: t, rng: &gumbelRNG)
            epochPaths.append(Self.pathText(path.ops, nodes: config.nodes))
            sgd.zeroGrad()
            let (loss, out) = try windowLoss(x, y, steps: steps, hidden: h, ops: path.ops, weights: path.weights, tar: true, masks: masks, wordMask: wordMask)
            try loss.backward()
            if config.method == .gdasNSAS {
                if archive.isFull {
                    let w = config.nsasBeta / (config.constraintReduction == .mean ? Float(archive.members.count) : 1)
                    let none = [Tensor?](repeating: nil, count: path.ops.count)
                    for m in archive.members {
                        try windowLoss(x, y, steps: steps, hidden: h, ops: m.normal, weights: none, tar: true, masks: masks, wordMask: wordMask).0
                            .scaled(by: w).backward()
                    }
                }
                archive.update(current: GDASArchitecture(normal: path.ops, reduce: []), step: globalStep, rng: &archiveRNG)
            }
            let value = out.loss.item
            guard value.isFinite else { throw TrainError.diverged(epoch: e + 1, step: s + 1, loss: value) }
            clipGradNorm(network.parameters, maxNorm: config.clip)
            sgd.step()
            adam.zeroGrad()   // the weight step's gradient on the logits is not used
            h = out.hidden.detach()
            globalStep += 1
            lossSum += Double(value) * Double(y.count); tokens += y.count
            let elapsed = Timing.now() - start
            log.progress(String(format: "%@ epoch %d/%d step %d/%d loss %.4f ppl %.1f tau %.2f %.0f tok/s ETA %@", config.method.rawValue, e + 1, config.epochs,
                                s + 1, total, lossSum / Double(tokens), exp(lossSum / Double(tokens)), t, Double(tokens) / max(elapsed, 1e-9),
                                formatDuration(elapsed / Double(s + 1) * Double(total - s - 1))), step: s + 1, of: total)
        }
        let seconds = Timing.now() - start, mean = lossSum / Double(max(tokens, 1))
        return RNNEpochMetrics(epoch: e + 1, trainLoss: Float(mean), trainPerplexity: Float(exp(mean)), validPerplexity: nil,
                               lr: sgd.lr, seconds: seconds, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
    }

    public func run(startEpoch: Int = 0) throws -> (genotype: RecurrentGenotype, perplexity: Double, epochs: [RNNEpochMetrics]) {
        log.line("nsas-train \(config.method.rawValue) (RNN space): \(corpus.name), vocabulary \(corpus.vocabularySize), hidden \(config.hidden), \(network.parameterCount) parameters, \(alpha.shape[0]) edges")
        var epochs: [RNNEpochMetrics] = []
        for e in startEpoch..<config.epochs {
            let m = try trainEpoch(e)
            epochs.append(m)
            log.record(m.record.merging(["tau": tau(epoch: e), "genotype": try genotype().canonical]) { a, _ in a })
            var saved = ""
            if let directory {
                let (path, size) = try writeCheckpoint(epoch: m.epoch, metrics: m, directory: directory)
                saved = String(format: "; checkpoint %@ (%.1f MB)", (path as NSString).lastPathComponent, Double(size) / 1e6)
            }
            log.line(String(format: "epoch %d/%d: train loss %.4f, train perplexity %.1f, tau %.2f, %.1f s, %.0f tokens/s%@",
                            m.epoch, config.epochs, m.trainLoss, m.trainPerplexity, tau(epoch: e), m.seconds, m.tokensPerSecond, saved))
        }
        let g = try genotype()
        let p = exp(try TextEval.loss(network, g, stream: corpus.valid, batch: config.evalBatch, bptt: config.bptt))
        log.record(["event": "selection", "genotype": g.description, "canonical": g.canonical, "valid_perplexity": p])
        log.line(String(format: "selected (argmax of the logits; validation perplexity %.2f with inherited weights):", p))
        log.line(g.description)
        return (g, p, epochs)
    }

    struct ArchState: Codable { var adamSteps: [Int]; var tau: Float }

    func writeCheckpoint(epoch: Int, metrics: RNNEpochMetrics, directory: String) throws -> (String, Int) {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let arch = [StoredTensor(name: "alpha_recurrent", shape: alpha.shape, values: alpha.array),
                    StoredTensor(name: "adam_m.alpha_recurrent", shape: alpha.shape, values: adam.m[0]),
                    StoredTensor(name: "adam_v.alpha_recurrent", shape: alpha.shape, values: adam.v[0])]
        var sections = [
            CheckpointWriter.Section("config", Array(try enc.encode(RNNSearchTrainer.Config(tool: nsasVersion, train: config, network: network.config, data: corpus.name)))),
            CheckpointWriter.Section("state", Array(try enc.encode(RNNSearchTrainer.State(epoch: epoch, method: config.method.rawValue, lr: sgd.lr, steps: epochPaths.count, globalStep: globalStep)))),
            CheckpointWriter.Section("metrics", Array(try enc.encode(metrics))),
            CheckpointWriter.Section("paths", Array(epochPaths.joined(separator: "\n").utf8)),
            CheckpointWriter.Section("rng", Array(try enc.encode(RNNSearchTrainer.RNGs(sampling: gumbelRNG.state, dropout: dropoutRNG.state, archive: archiveRNG.state)))),
            CheckpointWriter.Section("weights", TensorCodec.encode(network.named().map { StoredTensor(name: $0.0, shape: $0.1.shape, values: $0.1.array) }), codec: .zstdShuffle4),
            CheckpointWriter.Section("arch", TensorCodec.encode(arch), codec: .zstdShuffle4),
            CheckpointWriter.Section("arch_state", Array(try enc.encode(ArchState(adamSteps: adam.steps, tau: tau(epoch: epoch - 1))))),
        ]
        if config.method == .gdasNSAS { sections.append(CheckpointWriter.Section("archive", Array(try enc.encode(archive)))) }
        return try RNNSearchTrainer.write(sections, epoch: epoch, directory: directory)
    }

    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        let saved = try f.json("config", as: RNNSearchTrainer.Config.self)
        guard saved.network == network.config else {
            throw CheckpointError(path, section: "config", "was written for network \(saved.network), not \(network.config)")
        }
        try RunRestore.load(f.tensors("weights"), into: network.named(), path: path, section: "weights")
        let arch = Dictionary(try f.tensors("arch").map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        try RunRestore.load(Array(arch.values), into: [("alpha_recurrent", alpha)], path: path, section: "arch")
        guard let m = arch["adam_m.alpha_recurrent"], let v = arch["adam_v.alpha_recurrent"], m.values.count == alpha.count, v.values.count == alpha.count else {
            throw CheckpointError(path, section: "arch", "lacks the Adam moments of the logits")
        }
        let st = try f.json("arch_state", as: ArchState.self), state = try f.json("state", as: RNNSearchTrainer.State.self)
        let r = try f.json("rng", as: RNNSearchTrainer.RNGs.self)
        adam.steps = st.adamSteps
        adam.m[0] = m.values; adam.v[0] = v.values
        do { gumbelRNG = try RNG(state: r.sampling); dropoutRNG = try RNG(state: r.dropout); archiveRNG = try RNG(state: r.archive) } catch {
            throw CheckpointError(path, section: "rng", "\(error)")
        }
        if config.method == .gdasNSAS { archive = try f.json("archive", as: ConstraintArchive<GDASArchitecture>.self) }
        globalStep = state.globalStep
        return state.epoch
    }
}

/// A search in the RNN space, whichever method: what the command line needs to start, resume and finish one.
public protocol RNNSearch: AnyObject {
    var directory: String? { get set }
    func restore(from path: String) throws -> Int
    func run(startEpoch: Int) throws -> (genotype: RecurrentGenotype, perplexity: Double, epochs: [RNNEpochMetrics])
}

extension RNNSearchTrainer: RNNSearch {}
extension RNNGDASTrainer: RNNSearch {}

/// The trainer of `config.method`: GDAS and GDAS-NSAS, or the RandomNAS family (randomnas, nsas, wpl).
public func makeRNNSearch(config: RNNTrainConfig, corpus: Corpus, log: RunLog) throws -> any RNNSearch {
    config.method == .gdas || config.method == .gdasNSAS ? try RNNGDASTrainer(config: config, corpus: corpus, log: log)
                                                         : try RNNSearchTrainer(config: config, corpus: corpus, log: log)
}
