import Foundation
import NSASCheckpoint
import NSASData
import NSASTensor

extension DARTSRNNSpace {
    public static func standalone(_ genotype: RecurrentGenotype, options: DARTSRNNOptions, setup: SpaceSetup, data: Corpus,
                                  streams: RandomStreams) throws -> RNNStandalone {
        try RNNStandalone(genotype, options: options, setup: setup, data: data, streams: streams)
    }
}

/// A recurrent genotype trained from scratch (SGD, clip, TAR; averaged SGD once validation
/// perplexity has not improved for `nonmono` epochs, as DARTS and AWD-LSTM), scored by validation
/// and test perplexity (with the averaged weights once averaging has started).
public final class RNNStandalone: StandaloneModel {
    public let network: RecurrentNetwork
    public let genotype: RecurrentGenotype
    let options: DARTSRNNOptions, setup: SpaceSetup, data: Corpus
    var train: (rows: Int, data: [Int32]) = (0, [])
    var h: Tensor
    /// Averaged SGD: the running mean of the weights since the switch, and how many steps it holds.
    var average: [Tensor]? = nil, averaged = 0
    var best = Double.infinity, sinceBest = 0

    init(_ genotype: RecurrentGenotype, options: DARTSRNNOptions, setup: SpaceSetup, data: Corpus, streams: RandomStreams) throws {
        try DARTSRNNSpace.validate(options)
        guard genotype.nodes == options.nodes else { throw SearchSpaceError.genotype("it has \(genotype.nodes) nodes, the network \(options.nodes)") }
        self.genotype = genotype; self.options = options; self.setup = setup; self.data = data
        network = try RecurrentNetwork(options.network(vocabulary: data.vocabularySize), rng: &streams[RandomStreams.initialization])
        h = network.initialHidden(batch: setup.batch)
    }

    public var parameters: [Tensor] { network.parameters }
    public func named() -> [(String, Tensor)] { network.named() }
    public var summary: String { "\(data.name), hidden \(options.hidden), \(network.parameterCount) parameters" }
    public var dataName: String { data.name }
    public var dataFingerprint: String { data.fingerprint }
    public var unit: String { "tokens" }
    public func multiplyAdds() throws -> Int? { nil }

    public func beginEpoch(_ epoch: Int, of epochs: Int, streams: RandomStreams) throws -> Int {
        train = Corpus.batchify(data.train, batch: setup.batch)
        guard train.rows >= 2 else { throw SearchSpaceError.option("the training text is too short for batch \(setup.batch)") }
        h = network.initialHidden(batch: setup.batch)
        let windows = (train.rows - 1 + options.bptt - 1) / options.bptt
        return setup.maxSteps > 0 ? min(setup.maxSteps, windows) : windows
    }

    public func trainBatch(_ step: Int, streams: RandomStreams) throws -> TextBatch {
        let (x, y, steps) = TextEval.window(train, batch: setup.batch, start: step * options.bptt, bptt: options.bptt)
        let (masks, wordMask) = try network.masks(batch: setup.batch, training: true, rng: &streams[RandomStreams.dropout])
        return TextBatch(x: x, y: y, steps: steps, hidden: h, masks: masks, wordMask: wordMask, heldout: false)
    }

    public func loss(_ b: TextBatch, streams: RandomStreams) throws -> PathLoss {
        let out = try network.forward(tokens: b.x, targets: b.y, steps: b.steps, batch: setup.batch, hidden: b.hidden, genotype: genotype,
                                      masks: b.masks, wordMask: b.wordMask)
        let loss = options.tar > 0 ? try out.loss + RecurrentNetwork.tar(out.raw, batch: setup.batch).scaled(by: options.tar) : out.loss
        return PathLoss(loss: loss, value: out.loss.item, correct: 0, count: b.y.count, carry: out.hidden)
    }

    public func commit(_ result: PathLoss, of batch: TextBatch) { if let c = result.carry { h = c.detach() } }

    public func afterStep() throws {
        guard let average else { return }
        averaged += 1
        let k = Float(averaged)
        try withNoGrad {
            for (a, p) in zip(average, network.parameters) { try a.add(try p - a, scaledBy: 1 / k) }
        }
    }

    public func endEpoch(_ epoch: Int, note: (String) -> Void) throws -> ArchScore {
        let s = try perplexity(data.valid)
        if Double(s.value) < best { best = Double(s.value); sinceBest = 0 } else { sinceBest += 1 }
        if options.asgd, average == nil, sinceBest >= options.nonmono {
            note("validation stopped improving for \(options.nonmono) epochs: switching to averaged SGD")
            average = network.parameters.map { $0.detach() }; averaged = 0
        }
        return s
    }

    public func test() throws -> ArchScore { try perplexity(data.test) }

    /// Perplexity on a stream, with the averaged weights swapped in when averaging has started.
    func perplexity(_ stream: [Int32]) throws -> ArchScore {
        var saved: [Tensor] = []
        if let average {
            saved = network.parameters.map { $0.detach() }
            for (p, a) in zip(network.parameters, average) { try p.copy(from: a) }
        }
        defer { for (p, s) in zip(network.parameters, saved) { try? p.copy(from: s) } }
        let l = try TextEval.loss(network, genotype, stream: stream, batch: setup.evalBatch, bptt: options.bptt)
        return ArchScore(value: Float(exp(l)), loss: Float(l))
    }

    struct State: Codable { var best: Double?; var sinceBest: Int; var averaged: Int?; }

    public func sections() throws -> [CheckpointWriter.Section] {
        let state = State(best: best.isFinite ? best : nil, sinceBest: sinceBest, averaged: average == nil ? nil : averaged)
        var out = [CheckpointWriter.Section("asgd_state", Array(try JSONEncoder().encode(state)))]
        if let average {
            let t = zip(network.named(), average).map { StoredTensor(name: "average." + $0.0.0, shape: $0.0.1.shape, values: $0.1.array) }
            out.append(CheckpointWriter.Section("asgd", TensorCodec.encode(t), codec: .zstdShuffle4))
        }
        return out
    }

    public func restore(_ f: CheckpointFile) throws {
        let st = try f.json("asgd_state", as: State.self)
        best = st.best ?? .infinity; sinceBest = st.sinceBest
        guard let n = st.averaged else { average = nil; return }
        let stored = Dictionary(try f.tensors("asgd").map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        average = try network.named().map { name, t in
            guard let v = stored["average." + name], v.count == t.count else { throw CheckpointError(f.path, section: "asgd", "lacks average.\(name)") }
            let a = Tensor(zeros: t.shape)
            try a.load(v)
            return a
        }
        averaged = n
    }
}
