import Foundation
import NSASData
import NSASTensor

extension SpaceID {
    /// The DARTS recurrent cell space (5 primitives, 8 nodes) on a word-level corpus.
    public static let dartsRNN = SpaceID("darts-rnn")
}

/// Options of the DARTS RNN space; defaults are the DARTS PTB search settings.
public struct DARTSRNNOptions: Codable, Hashable, Sendable {
    /// Embedding and hidden size.
    public var hidden = 300
    public var nodes = 8
    /// Truncated back-propagation length.
    public var bptt = 35
    /// Temporal activation regularisation weight.
    public var tar: Float = 1e-3
    public var dropout: Float = 0.75, dropoutH: Float = 0.25, dropoutX: Float = 0.75, dropoutI: Float = 0.2, dropoutE: Float = 0
    /// Stand-alone training: switch to averaged SGD once validation perplexity has not improved
    /// for `nonmono` epochs (as DARTS and AWD-LSTM).
    public var asgd = true, nonmono = 5
    public init() {}

    public func network(vocabulary: Int) -> RNNConfig {
        RNNConfig(vocabulary: vocabulary, hidden: hidden, nodes: nodes, dropout: dropout, dropoutH: dropoutH,
                  dropoutX: dropoutX, dropoutI: dropoutI, dropoutE: dropoutE)
    }
}

/// One window of a batchified token stream, from a hidden state, with its dropout masks.
public struct TextBatch {
    public var x: [Int32], y: [Int32]
    public var steps: Int
    public var hidden: Tensor
    public var masks: RecurrentMasks
    public var wordMask: Tensor?
    /// From the validation stream (a GDAS architecture step), which carries its own hidden state.
    public var heldout: Bool
}

/// The DARTS RNN space on a PTB-style corpus: windows in order with the hidden state carried
/// across them (truncated back-propagation through time), variational dropout masks from the
/// `dropout` stream, architectures scored by validation perplexity.
public final class DARTSRNNSpace: StandaloneSpace {
    public typealias Arch = RecurrentGenotype
    public static let id = SpaceID.dartsRNN
    public static let ops: [RecurrentPrimitive] = [.none, .tanh, .relu, .sigmoid, .identity]
    public static var primitives: [String] { ops.map(\.rawValue) }
    public static let score = ScoreKind.perplexity

    public static func defaults(standalone: Bool) -> (SpaceDefaults, DARTSRNNOptions) {
        var o = DARTSRNNOptions()
        if standalone { o.hidden = 850; o.dropoutE = 0.1 }
        return (SpaceDefaults(batch: standalone ? 64 : 256, evalBatch: 10, lr: 20, lrMin: 20, momentum: 0,
                              weightDecay: standalone ? 8e-7 : 5e-7, clip: 0.25, cosine: false, recentSize: 20, searchSamples: 50,
                              searchBatches: 10, searchBatchSize: nil, allowNone: false), o)
    }

    public static func validate(_ o: DARTSRNNOptions) throws {
        guard (1...16_384).contains(o.hidden), (1...64).contains(o.nodes), (1...10_000).contains(o.bptt) else {
            throw SearchSpaceError.option("--hidden must be between 1 and 16384, --nodes between 1 and 64, --bptt between 1 and 10000")
        }
        guard o.tar >= 0 else { throw SearchSpaceError.option("--tar must not be negative") }
        guard o.nonmono >= 1 else { throw SearchSpaceError.option("--nonmono must be at least 1") }
        try o.network(vocabulary: 2).validate()
    }

    public static func loadData(_ options: DARTSRNNOptions, setup: SpaceSetup) throws -> Corpus {
        guard setup.data != "default" else {
            throw SearchSpaceError.option("the RNN space needs --data DIR with ptb.train.txt, ptb.valid.txt, ptb.test.txt (Tools/get-ptb DIR writes them)")
        }
        return try Corpus.load(setup.data)
    }

    public static func sample(_ options: DARTSRNNOptions, allowNone: Bool, _ rng: inout RNG) -> RecurrentGenotype {
        RecurrentGenotype.sample(nodes: options.nodes, allowNone: allowNone, &rng)
    }

    public static func edgeCounts(_ options: DARTSRNNOptions) -> [Int] { [RecurrentCell.edgeCount(nodes: options.nodes)] }

    public static let cellTypes = ["recurrent"]

    public static func sites(_ arch: RecurrentGenotype) -> [PathSite] {
        arch.recurrent.enumerated().map { k, e in PathSite(cellType: 0, edge: RecurrentCell.edgeIndex(node: k, input: e.input), op: e.op.rawValue) }
    }

    /// The recurrent cell's weights are per node and shared by every op of its edges: no op site.
    public static func site(ofTensor name: String, options: DARTSRNNOptions) -> (site: PathSite, cell: Int)? { nil }

    public static func check(_ arch: RecurrentGenotype, options: DARTSRNNOptions) throws {
        guard arch.nodes == options.nodes else {
            throw SearchSpaceError.genotype("\(arch.canonical.prefix(120)) has \(arch.nodes) nodes; the supernet's cell has \(options.nodes) (--nodes)")
        }
    }

    /// Per node the input whose strongest non-`none` op is most probable, with that op (DARTS's RNN parse).
    public static func genotype(logits: [Tensor], options: DARTSRNNOptions) throws -> RecurrentGenotype {
        let edges = RecurrentCell.edgeCount(nodes: options.nodes), n = ops.count
        guard logits.count == 1, logits[0].shape == [edges, n] else {
            throw SearchSpaceError.genotype("GDAS logits of the RNN space are one tensor of shape [\(edges), \(n)]")
        }
        let p = try withNoGrad { try logits[0].softmax() }.array
        let noneIndex = ops.firstIndex(of: .none)!
        let chosen = (0..<options.nodes).map { k -> RecurrentEdge in
            let best = (0...k).map { j -> (input: Int, op: Int, p: Float) in
                let e = RecurrentCell.edgeIndex(node: k, input: j)
                let op = (0..<n).filter { $0 != noneIndex }.max { p[e * n + $0] < p[e * n + $1] }!
                return (j, op, p[e * n + op])
            }.max { $0.p < $1.p }!
            return RecurrentEdge(ops[best.op], best.input)
        }
        return try RecurrentGenotype(recurrent: chosen)
    }

    public static func pathText(_ path: EdgeOps, options: DARTSRNNOptions) -> String {
        var out: [String] = []
        for k in 0..<options.nodes { for j in 0...k { out.append("\(ops[path.cells[0][RecurrentCell.edgeIndex(node: k, input: j)]].rawValue)~\(j)") } }
        return EdgeOps.prefix + "rnn:" + out.joined(separator: "|")
    }

    public let options: DARTSRNNOptions
    public let data: Corpus
    public let network: RecurrentNetwork
    let setup: SpaceSetup
    var train: (rows: Int, data: [Int32]) = (0, []), valid: (rows: Int, data: [Int32]) = (0, [])
    var h: Tensor, hv: Tensor
    var validWindows = 1

    public init(options: DARTSRNNOptions, setup: SpaceSetup, data: Corpus, streams: RandomStreams) throws {
        try Self.validate(options)
        self.options = options; self.setup = setup; self.data = data
        network = try RecurrentNetwork(options.network(vocabulary: data.vocabularySize), rng: &streams[RandomStreams.initialization])
        h = network.initialHidden(batch: setup.batch); hv = h
    }

    public var dataName: String { data.name }
    public var dataFingerprint: String { data.fingerprint }
    public var parameters: [Tensor] { network.parameters }
    public func named() -> [(String, Tensor)] { network.named() }
    public var summary: String {
        "\(data.name), vocabulary \(data.vocabularySize), hidden \(options.hidden), \(network.parameterCount) parameters"
    }
    public var networkJSON: [String: Any] { ["vocabulary": data.vocabularySize, "hidden": options.hidden, "nodes": options.nodes] }
    public var unit: String { "tokens" }

    public func beginEpoch(_ epoch: Int, streams: RandomStreams) throws -> Int {
        train = Corpus.batchify(data.train, batch: setup.batch)
        valid = Corpus.batchify(data.valid, batch: setup.batch)
        guard train.rows >= 2 else { throw SearchSpaceError.option("the training text is too short for batch \(setup.batch)") }
        validWindows = max(1, (valid.rows - 1 + options.bptt - 1) / options.bptt)
        h = network.initialHidden(batch: setup.batch); hv = h
        let windows = (train.rows - 1 + options.bptt - 1) / options.bptt
        return setup.maxSteps > 0 ? min(setup.maxSteps, windows) : windows
    }

    func batch(_ stream: (rows: Int, data: [Int32]), window: Int, hidden: Tensor, heldout: Bool, streams: RandomStreams) throws -> TextBatch {
        let (x, y, steps) = TextEval.window(stream, batch: setup.batch, start: window * options.bptt, bptt: options.bptt)
        let (masks, wordMask) = try network.masks(batch: setup.batch, training: true, rng: &streams[RandomStreams.dropout])
        return TextBatch(x: x, y: y, steps: steps, hidden: hidden, masks: masks, wordMask: wordMask, heldout: heldout)
    }

    public func trainBatch(_ step: Int, streams: RandomStreams) throws -> TextBatch {
        try batch(train, window: step, hidden: h, heldout: false, streams: streams)
    }

    public func heldoutBatch(_ step: Int, streams: RandomStreams) throws -> TextBatch {
        guard valid.rows >= 2 else { throw SearchSpaceError.option("the validation text is too short for batch \(setup.batch)") }
        if step % validWindows == 0 { hv = network.initialHidden(batch: setup.batch) }
        return try batch(valid, window: step % validWindows, hidden: hv, heldout: true, streams: streams)
    }

    public func loss(_ path: Path<RecurrentGenotype>, _ b: TextBatch, regularized: Bool) throws -> PathLoss {
        let out: RecurrentNetwork.Output
        switch path {
        case .arch(let g):
            out = try network.forward(tokens: b.x, targets: b.y, steps: b.steps, batch: setup.batch, hidden: b.hidden, genotype: g,
                                      masks: b.masks, wordMask: b.wordMask)
        case .edges(let e, let w):
            let prims = e.cells[0].map { Self.ops[$0] }
            let weights = w?[0] ?? [Tensor?](repeating: nil, count: prims.count)
            out = try network.forward(tokens: b.x, targets: b.y, steps: b.steps, batch: setup.batch, hidden: b.hidden,
                                      masks: b.masks, wordMask: b.wordMask) {
                try self.network.cell.stepAllEdges($0, $1, ops: prims, weights: weights, masks: b.masks)
            }
        }
        let loss = regularized && options.tar > 0
            ? try out.loss + RecurrentNetwork.tar(out.raw, batch: setup.batch).scaled(by: options.tar) : out.loss
        return PathLoss(loss: loss, value: out.loss.item, correct: 0, count: b.y.count, carry: out.hidden)
    }

    public func commit(_ result: PathLoss, of batch: TextBatch) {
        guard let carry = result.carry else { return }
        if batch.heldout { hv = carry.detach() } else { h = carry.detach() }
    }

    public func score(_ arch: RecurrentGenotype, batches: Int?, batchSize: Int?) throws -> ArchScore {
        let l = try TextEval.loss(network, arch, stream: data.valid, batch: batchSize ?? setup.evalBatch, bptt: options.bptt, maxBatches: batches)
        return ArchScore(value: Float(exp(l)), loss: Float(l))
    }

    public func recalibrate(_ arch: RecurrentGenotype, batches: Int) throws {
        throw SearchSpaceError.option("--bn-recalibrate is for spaces with batch norm; the recurrent cell has none")
    }
}

/// Language-model evaluation and windows over a token stream.
public enum TextEval {
    /// (inputs, targets, steps) of the window at row `start` of a batchified stream.
    public static func window(_ data: (rows: Int, data: [Int32]), batch: Int, start: Int, bptt: Int) -> ([Int32], [Int32], Int) {
        let steps = min(bptt, data.rows - 1 - start)
        let x = Array(data.data[(start * batch)..<((start + steps) * batch)])
        let y = Array(data.data[((start + 1) * batch)..<((start + 1 + steps) * batch)])
        return (x, y, steps)
    }

    /// Mean cross-entropy per token (nats) of `g` on a stream, hidden state carried, no dropout;
    /// `maxBatches` bptt windows at most. Perplexity is exp of it.
    public static func loss(_ net: RecurrentNetwork, _ g: RecurrentGenotype, stream: [Int32], batch: Int, bptt: Int,
                            maxBatches: Int? = nil) throws -> Double {
        let data = Corpus.batchify(stream, batch: batch)
        guard data.rows >= 2 else { throw SearchSpaceError.option("the evaluation text is too short for batch \(batch)") }
        var h = net.initialHidden(batch: batch)
        var total = 0.0, count = 0, windows = 0
        var start = 0
        while start < data.rows - 1, maxBatches.map({ windows < $0 }) ?? true {
            let (x, y, steps) = window(data, batch: batch, start: start, bptt: bptt)
            let out = try withNoGrad {
                try net.forward(tokens: x, targets: y, steps: steps, batch: batch, hidden: h, genotype: g, masks: RecurrentMasks(), wordMask: nil)
            }
            total += Double(out.loss.item) * Double(y.count); count += y.count
            h = out.hidden.detach()
            start += steps; windows += 1
        }
        return total / Double(max(count, 1))
    }
}
