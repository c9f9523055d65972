import NSASTensor

/// Size and regularisation of a DARTS recurrent language model (docs/rnn.md; the DARTS
/// search defaults: 300/300, dropouts 0.75/0.25/0.75/0.2/0; stand-alone: 850/850 with word
/// dropout 0.1).
public struct RNNConfig: Codable, Hashable, Sendable {
    public var vocabulary: Int
    /// Embedding and hidden size (equal: the decoder is tied to the embedding).
    public var hidden: Int
    public var nodes: Int
    /// Dropout on the cell's output (locked: one mask per sequence).
    public var dropout: Float
    /// Dropout on the hidden state inside the cell (one mask per sequence).
    public var dropoutH: Float
    /// Dropout on the cell's input x_t (one mask per sequence).
    public var dropoutX: Float
    /// Dropout on the embedded words (locked).
    public var dropoutI: Float
    /// Dropout of whole words of the embedding matrix.
    public var dropoutE: Float

    public init(vocabulary: Int, hidden: Int = 300, nodes: Int = 8, dropout: Float = 0.75, dropoutH: Float = 0.25,
                dropoutX: Float = 0.75, dropoutI: Float = 0.2, dropoutE: Float = 0) {
        self.vocabulary = vocabulary; self.hidden = hidden; self.nodes = nodes; self.dropout = dropout
        self.dropoutH = dropoutH; self.dropoutX = dropoutX; self.dropoutI = dropoutI; self.dropoutE = dropoutE
    }

    public func validate() throws {
        guard vocabulary >= 2, hidden >= 1, nodes >= 1 else {
            throw SearchSpaceError.config("a recurrent model needs a vocabulary of 2 or more words, hidden >= 1 and nodes >= 1 (got \(vocabulary), \(hidden), \(nodes))")
        }
        for (name, p) in [("dropout", dropout), ("dropout-h", dropoutH), ("dropout-x", dropoutX), ("dropout-i", dropoutI), ("dropout-e", dropoutE)]
        where !(0..<1).contains(p) {
            throw SearchSpaceError.config("--\(name) \(p) must be in [0, 1)")
        }
    }
}

/// The masks of one sequence batch (variational dropout: the same mask at every time step).
public struct RecurrentMasks {
    public var x: Tensor?, h: Tensor?, input: Tensor?, output: Tensor?
    public init(x: Tensor? = nil, h: Tensor? = nil, input: Tensor? = nil, output: Tensor? = nil) {
        self.x = x; self.h = h; self.input = input; self.output = output
    }
}

/// The DARTS recurrent cell with one weight set: W0 makes s_0 from [x_t, h_{t-1}] and W_i
/// (node i's, shared by whatever predecessor and op the architecture gives it) drives node i:
///   [c0|h0] = [x; h_prev] W0, s0 = h_prev + sigmoid(c0) * (tanh(h0) - h_prev)
///   [c|h]  = s_j W_i,         s_i = s_j + sigmoid(c) * (f(h) - s_j)
///   h_t = mean of the concat nodes.
/// As the single-path supernet it takes the genotype per call; a stand-alone network fixes it.
public final class RecurrentCell: Layer {
    public let hidden: Int
    public let w0: Tensor
    public let ws: [Tensor]

    /// DARTS initialisation: U(-0.04, 0.04).
    public init(input: Int, hidden: Int, nodes: Int, rng: inout RNG) {
        self.hidden = hidden
        func weight(_ rows: Int) -> Tensor {
            let t = Tensor(zeros: [rows, 2 * hidden], requiresGrad: true)
            t.fill { rng.uniform(-0.04, 0.04) }
            return t
        }
        w0 = weight(input + hidden)
        ws = (0..<nodes).map { _ in weight(hidden) }
    }

    public var parameters: [Tensor] { [w0] + ws }
    public func named(_ p: String) -> [(String, Tensor)] { [("\(p).w0", w0)] + ws.enumerated().map { ("\(p).w\($0 + 1)", $1) } }

    static func activation(_ op: RecurrentPrimitive, _ x: Tensor) -> Tensor {
        switch op {
        case .none: return x.zerosLike()
        case .tanh: return x.tanh()
        case .relu: return x.relu()
        case .sigmoid: return x.sigmoid()
        case .identity: return x
        }
    }

    /// A node's state from its input state s and [c|h] = s W: s + sigmoid(c) (f(h) - s); `none`
    /// contributes zero, as in DARTS (not s (1 - sigmoid(c)), which the formula would give).
    func update(_ s: Tensor, _ ch: Tensor, _ op: RecurrentPrimitive) throws -> Tensor {
        if op == .none { return s.zerosLike() }
        let c = try ch.narrow(axis: 1, start: 0, length: hidden).sigmoid()
        let f = RecurrentCell.activation(op, try ch.narrow(axis: 1, start: hidden, length: hidden))
        return try s + c * (f - s)
    }

    /// s_0 from x_t and h_{t-1}.
    func initialState(_ x: Tensor, _ h: Tensor, masks: RecurrentMasks) throws -> Tensor {
        let xin = try masks.x.map { try x * $0 } ?? x
        let hin = try masks.h.map { try h * $0 } ?? h
        let ch0 = try Tensor.concat([xin, hin], axis: 1).matmul(w0)
        let c0 = try ch0.narrow(axis: 1, start: 0, length: hidden).sigmoid()
        let h0 = try ch0.narrow(axis: 1, start: hidden, length: hidden).tanh()
        return try h + c0 * (h0 - h)
    }

    /// Edges of the all-edge (GDAS) cell: node k (0-based) reads states 0...k.
    public static func edgeCount(nodes: Int) -> Int { nodes * (nodes + 1) / 2 }
    public static func edgeIndex(node k: Int, input j: Int) -> Int { k * (k + 1) / 2 + j }

    /// GDAS's step through every edge: node k = the mean over the states j it may read of
    /// w_j (s_j + sigmoid(c_j) (f(h_j) - s_j)), [c_j|h_j] = s_j W_k, f the op `ops` gives edge
    /// (k, j) and w_j its straight-through weight (1 when nil); h_t = the mean of all nodes. This
    /// is the DARTS search cell with one op per edge instead of the mixture; DARTS sums a node's
    /// edges and batch-normalises the sum, here the mean keeps every state on the scale of the
    /// single-path cell without BN statistics (a plain sum grows with the node's fan-in and blows
    /// up through time).
    public func stepAllEdges(_ x: Tensor, _ h: Tensor, ops: [RecurrentPrimitive], weights: [Tensor?], masks: RecurrentMasks) throws -> Tensor {
        let n = ws.count, batch = x.shape[0]
        guard ops.count == Self.edgeCount(nodes: n), weights.count == ops.count else {
            throw TensorError.shape(op: "RecurrentCell", message: "the all-edge step needs \(Self.edgeCount(nodes: n)) ops and weights, got \(ops.count) and \(weights.count)")
        }
        var states = [try initialState(x, h, masks: masks)]
        for k in 0..<n {
            // One product for all k+1 inputs of node k: their states stacked by rows.
            let inputs = try states.map { s in try masks.h.map { try s * $0 } ?? s }
            let ch = try Tensor.concat(inputs, axis: 0).matmul(ws[k])
            var node: Tensor? = nil
            for j in 0...k {
                let e = Self.edgeIndex(node: k, input: j)
                var u = try update(states[j], try ch.narrow(axis: 0, start: j * batch, length: batch), ops[e])
                if let w = weights[e] { u = try u.scaled(byTensor: w) }
                node = try node.map { try $0 + u } ?? u
            }
            states.append(k == 0 ? node! : node!.scaled(by: 1 / Float(k + 1)))
        }
        var sum = states[1]
        for s in states.dropFirst(2) { sum = try sum + s }
        return sum.scaled(by: 1 / Float(n))
    }

    /// One time step: x (B, input), h (B, hidden) -> h_t (B, hidden).
    public func step(_ x: Tensor, _ h: Tensor, _ g: RecurrentGenotype, masks: RecurrentMasks) throws -> Tensor {
        var states = [try initialState(x, h, masks: masks)]
        for (i, e) in g.recurrent.enumerated() {
            let prev = states[e.input]
            states.append(try update(prev, try (masks.h.map { try prev * $0 } ?? prev).matmul(ws[i]), e.op))
        }
        var sum = states[g.concat[0]]
        for i in g.concat.dropFirst() { sum = try sum + states[i] }
        return sum.scaled(by: 1 / Float(g.concat.count))
    }
}

/// A word-level language model around the recurrent cell: embedding (tied to the decoder),
/// variational dropout, the cell unrolled over time. Used both as the single-path supernet (the
/// genotype given per call) and as a stand-alone network.
public final class RecurrentNetwork: Layer {
    public let config: RNNConfig
    public let embedding: Tensor
    public let decoderBias: Tensor
    public let cell: RecurrentCell

    public init(_ config: RNNConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        embedding = Tensor(zeros: [config.vocabulary, config.hidden], requiresGrad: true)
        embedding.fill { rng.uniform(-0.1, 0.1) }
        decoderBias = Tensor(zeros: [config.vocabulary], requiresGrad: true)
        cell = RecurrentCell(input: config.hidden, hidden: config.hidden, nodes: config.nodes, rng: &rng)
    }

    public var parameters: [Tensor] { [embedding, decoderBias] + cell.parameters }
    public func named(_ p: String = "rnn") -> [(String, Tensor)] {
        [("\(p).embedding", embedding), ("\(p).decoder_bias", decoderBias)] + cell.named("\(p).cell")
    }

    /// A zero hidden state for `batch` sequences.
    public func initialHidden(batch: Int) -> Tensor { Tensor(zeros: [batch, config.hidden]) }

    /// Fresh masks for one batch of sequences (none when not training).
    public func masks(batch: Int, training: Bool, rng: inout RNG) throws -> (RecurrentMasks, Tensor?) {
        guard training else { return (RecurrentMasks(), nil) }
        let h = config.hidden
        func mask(_ p: Float, _ shape: [Int]) throws -> Tensor? { p > 0 ? try Tensor.dropoutMask(shape: shape, p: p, rng: &rng) : nil }
        let m = RecurrentMasks(x: try mask(config.dropoutX, [batch, h]), h: try mask(config.dropoutH, [batch, h]),
                               input: try mask(config.dropoutI, [batch, h]), output: try mask(config.dropout, [batch, h]))
        return (m, try mask(config.dropoutE, [config.vocabulary, 1]))
    }

    public struct Output {
        /// Log-probabilities are not kept; the mean cross-entropy of the targets.
        public var loss: Tensor
        /// The cell's outputs before output dropout, stacked over time ((T*B), hidden).
        public var raw: Tensor
        /// The last hidden state (detach it before the next batch).
        public var hidden: Tensor
    }

    /// Runs `tokens` (T x B, row-major: [t * B + b]) from `hidden` and scores `targets` (same layout).
    public func forward(tokens: [Int32], targets: [Int32], steps: Int, batch: Int, hidden: Tensor, genotype g: RecurrentGenotype,
                        masks: RecurrentMasks, wordMask: Tensor?) throws -> Output {
        guard g.nodes == config.nodes else { throw SearchSpaceError.genotype("it has \(g.nodes) nodes, the network \(config.nodes)") }
        return try forward(tokens: tokens, targets: targets, steps: steps, batch: batch, hidden: hidden, masks: masks, wordMask: wordMask) {
            try cell.step($0, $1, g, masks: masks)
        }
    }

    /// The same with any cell step (x_t, h_{t-1}) -> h_t, e.g. GDAS's all-edge step.
    public func forward(tokens: [Int32], targets: [Int32], steps: Int, batch: Int, hidden: Tensor, masks: RecurrentMasks, wordMask: Tensor?,
                        cellStep: (Tensor, Tensor) throws -> Tensor) throws -> Output {
        guard tokens.count == steps * batch, targets.count == steps * batch, hidden.shape == [batch, config.hidden] else {
            throw TensorError.shape(op: "RecurrentNetwork", message: "expects \(steps)x\(batch) tokens and targets and hidden (\(batch), \(config.hidden)); got \(tokens.count), \(targets.count), \(hidden.shape)")
        }
        let table = try wordMask.map { try embedding * $0 } ?? embedding
        let emb = try table.embedding(tokens.map(Int.init))
        var h = hidden
        var outs: [Tensor] = []
        for t in 0..<steps {
            var x = try emb.narrow(axis: 0, start: t * batch, length: batch)
            if let m = masks.input { x = try x * m }
            h = try cellStep(x, h)
            outs.append(h)
        }
        let raw = try Tensor.concat(outs, axis: 0)
        var out = raw
        if let m = masks.output { out = try Tensor.concat(outs.map { try $0 * m }, axis: 0) }
        let logits = try out.linear(embedding, bias: decoderBias)   // word dropout masks the lookup only, as DARTS
        return Output(loss: try logits.crossEntropy(labels: targets.map(Int.init)), raw: raw, hidden: h)
    }

    /// Temporal activation regularisation: mean squared change of the raw outputs between steps.
    public static func tar(_ raw: Tensor, batch: Int) throws -> Tensor {
        let n = raw.shape[0]
        guard n > batch else { return Tensor(scalar: 0) }
        let d = try raw.narrow(axis: 0, start: batch, length: n - batch) - raw.narrow(axis: 0, start: 0, length: n - batch)
        return try (d * d).mean()
    }
}
