import NSASData
import NSASTensor

extension SpaceID {
    /// The DARTS CNN cell space (8 primitives, 4 nodes, normal and reduce cells) on images.
    public static let dartsCNN = SpaceID("darts-cnn")
}

/// Options of the DARTS CNN space.
public struct DARTSCNNOptions: Codable, Hashable, Sendable {
    /// Cells L (reductions at L/3 and 2L/3).
    public var layers = 8
    /// Initial channels C.
    public var channels = 16
    /// Fraction of the training file held out for scoring (not for `default`, which ships a split).
    public var heldoutFraction = 0.5
    /// Stand-alone training (DARTS's evaluation recipe): final drop-path probability (rising
    /// linearly over the epochs), auxiliary head weight (0: no head), cutout side (0: none).
    public var dropPath: Float = 0.2, auxiliaryWeight: Float = 0.4, cutout = 0
    public init() {}
}

/// The DARTS CNN space on an image data set: a single-path supernet (`Supernet`), shuffled and
/// augmented training batches from the `data` stream, architectures scored by held-out accuracy.
public final class DARTSCNNSpace: StandaloneSpace, ImageFed {
    public typealias Arch = Genotype
    public static let id = SpaceID.dartsCNN
    /// The space's ops (DARTS's `PRIMITIVES`), apart from the op registry `Primitive`.
    public static let ops: [Primitive] = [.none, .maxPool3x3, .avgPool3x3, .skipConnect, .sepConv3x3, .sepConv5x5, .dilConv3x3, .dilConv5x5]
    public static var primitives: [String] { ops.map(\.name) }
    public static let score = ScoreKind.accuracy

    public static func defaults(standalone: Bool) -> (SpaceDefaults, DARTSCNNOptions) {
        // Random search and sampling as Li & Talwalkar's RandomNAS: every op `none` included,
        // 1000 candidates scored on 10 held-out batches of 64, the best 10 re-scored on the whole split.
        (SpaceDefaults(batch: 64, evalBatch: 256, lr: 0.025, lrMin: 0.001, momentum: 0.9, weightDecay: 3e-4, clip: 5,
                       cosine: true, recentSize: 50, searchSamples: 1000, searchBatches: 10, searchBatchSize: 64, allowNone: true), DARTSCNNOptions())
    }

    public static func validate(_ o: DARTSCNNOptions) throws {
        if !(3...200).contains(o.layers) { throw SearchSpaceError.option("--layers must be between 3 and 200 (reduction cells sit at L/3 and 2L/3)") }
        if !(2...4096).contains(o.channels) || o.channels % 2 != 0 { throw SearchSpaceError.option("--channels must be even and between 2 and 4096") }
        if !(o.heldoutFraction > 0 && o.heldoutFraction < 1) { throw SearchSpaceError.option("--heldout-fraction must be in (0, 1)") }
        if !(0..<1).contains(o.dropPath) || !(o.auxiliaryWeight >= 0) || o.cutout < 0 {
            throw SearchSpaceError.option("need 0 <= --drop-path < 1, --auxiliary-weight >= 0, --cutout >= 0")
        }
    }

    public static func loadData(_ options: DARTSCNNOptions, setup: SpaceSetup) throws -> DataSplits {
        try DataSource.load(setup.data, seed: setup.seed, heldoutFraction: options.heldoutFraction)
    }

    public static func sample(_ options: DARTSCNNOptions, allowNone: Bool, _ rng: inout RNG) -> Genotype {
        ArchitectureSampler(allowNone: allowNone).sample(&rng)
    }

    public static func edgeCounts(_ options: DARTSCNNOptions) -> [Int] { [14, 14] }

    public static let cellTypes = ["normal", "reduce"]

    public static func sites(_ arch: Genotype) -> [PathSite] {
        [arch.normal, arch.reduce].enumerated().flatMap { t, edges in
            edges.enumerated().map { k, e in PathSite(cellType: t, edge: CNNConfig.edgeIndex(node: k / 2, input: e.input), op: e.op.name) }
        }
    }

    /// `supernet.cells.C.edges.E.OP....`: cell C (normal or reduce by its position), edge E, op OP.
    public static func site(ofTensor name: String, options: DARTSCNNOptions) -> (site: PathSite, cell: Int)? {
        let parts = name.split(separator: ".")
        guard parts.count > 5, parts[1] == "cells", let c = Int(parts[2]), parts[3] == "edges", let e = Int(parts[4]) else { return nil }
        let reduce = c == options.layers / 3 || c == 2 * options.layers / 3
        return (PathSite(cellType: reduce ? 1 : 0, edge: e, op: String(parts[5])), c)
    }

    public static func check(_ arch: Genotype, options: DARTSCNNOptions) throws {
        guard arch.nodes == 4 else { throw SearchSpaceError.genotype("\(arch.canonical.prefix(120)) has \(arch.nodes) nodes a cell; the supernet's cells have 4") }
    }

    /// Per node the two incoming edges whose strongest non-`none` op is most probable, each with that op.
    public static func genotype(logits: [Tensor], options: DARTSCNNOptions) throws -> Genotype {
        guard logits.count == 2, logits.allSatisfy({ $0.shape == [14, ops.count] }) else {
            throw SearchSpaceError.genotype("GDAS logits of the CNN space are two tensors of shape [14, \(ops.count)]")
        }
        return try Genotype(normal: cell(logits[0]), reduce: cell(logits[1]))
    }

    static func cell(_ alpha: Tensor) throws -> [Edge] {
        let p = try withNoGrad { try alpha.softmax() }.array
        let n = ops.count, noneIndex = ops.firstIndex(of: .none)!
        var edges: [Edge] = []
        for i in 0..<4 {
            let candidates: [(input: Int, op: Int, p: Float)] = (0..<(2 + i)).map { j in
                let e = CNNConfig.edgeIndex(node: i, input: j)
                let best = (0..<n).filter { $0 != noneIndex }.max { p[e * n + $0] < p[e * n + $1] }!
                return (j, best, p[e * n + best])
            }
            for c in candidates.sorted(by: { $0.p > $1.p }).prefix(2).sorted(by: { $0.input < $1.input }) {
                edges.append(Edge(ops[c.op], c.input))
            }
        }
        return edges
    }

    public static func pathText(_ path: EdgeOps, options: DARTSCNNOptions) -> String {
        func text(_ ops: [Int]) -> String {
            var out: [String] = []
            for i in 0..<4 { for j in 0..<(2 + i) { out.append("\(Self.ops[ops[CNNConfig.edgeIndex(node: i, input: j)]].name)~\(j)") } }
            return out.joined(separator: "|")
        }
        return EdgeOps.prefix + path.cells.map(text).joined(separator: "||")
    }

    public let options: DARTSCNNOptions
    public let supernet: Supernet
    public let feed: ImageFeed

    public init(options: DARTSCNNOptions, setup: SpaceSetup, data: DataSplits, streams: RandomStreams) throws {
        try Self.validate(options)
        self.options = options
        feed = ImageFeed(data, setup: setup)
        supernet = try Supernet(CNNConfig(layers: options.layers, channels: options.channels, inputChannels: data.channels,
                                          imageSize: data.imageSize, classes: data.classes), rng: &streams[RandomStreams.initialization])
    }

    public var parameters: [Tensor] { supernet.parameters }
    public func named() -> [(String, Tensor)] { supernet.named() }
    public var summary: String { "\(data.name); supernet \(options.layers) cells, C=\(options.channels), \(supernet.parameterCount) parameters" }
    public var networkJSON: [String: Any] {
        let c = supernet.config
        return ["layers": c.layers, "channels": c.channels, "nodes": c.nodes, "input_channels": c.inputChannels,
                "image_size": c.imageSize, "classes": c.classes, "stem_multiplier": c.stemMultiplier]
    }

    public func loss(_ path: Path<Genotype>, _ batch: ImageBatch, regularized: Bool) throws -> PathLoss {
        let ctx = ForwardContext(training: true)
        let logits: Tensor
        batch.leaves?.edges?.starting(supernet.sharedKeys(path))
        switch path {
        case .arch(let g):
            logits = try batch.leaves.map { try supernet.forward(prefix: $0, x: nil, arch: g, ctx) } ?? supernet.forward(batch.x, arch: g, ctx)
        case .edges(let e, let w):
            let none = [Tensor?](repeating: nil, count: supernet.config.edgesPerCell)
            logits = try supernet.forward(batch.leaves == nil ? batch.x : nil, prefix: batch.leaves, normalOps: e.cells[0], reduceOps: e.cells[1],
                                          normalWeights: w?[0] ?? none, reduceWeights: w?[1] ?? none, ctx)
        }
        return try ImageFeed.loss(logits, batch)
    }

    /// The stem and the preprocessing that reads only the stem's output, once for every path of the
    /// batch, and the ops of cells 0 and 1 on those inputs that several paths share (their BN
    /// statistics then move once a step, however many paths share them).
    public func shared(_ batch: ImageBatch, planned: [Path<Genotype>]) throws -> ImageBatch {
        var b = batch
        let p = try supernet.prefix(batch.x, ForwardContext(training: true))
        b.prefix = p; b.leaves = p.shared(planned: planned, of: sharesEdgeOps ? supernet : nil)
        return b
    }

    /// Whether `shared` also shares ops between paths (`SharedEdges`); off only to measure what that saves.
    public var sharesEdgeOps = true
    /// Op outputs paths took from another path of their batch instead of computing them, so far.
    public private(set) var sharedOpsReused = 0

    public func finishShared(_ batch: ImageBatch) throws {
        guard let p = batch.prefix, let l = batch.leaves else { return }
        sharedOpsReused += l.edges?.reused ?? 0
        try p.backward(from: l)
    }

    public func score(_ arch: Genotype, batches: Int?, batchSize: Int?) throws -> ArchScore {
        try feed.score(data.heldout, batches: batches, batchSize: batchSize) { try supernet.forward($0, arch: arch, ForwardContext(training: false)) }
    }

    public func recalibrate(_ arch: Genotype, batches: Int) throws {
        try feed.recalibrate(batches: batches) { try supernet.forward($0, arch: arch, $1) }
    }
}

/// Accuracy and mean loss of logits from `forward` over (part of) a split, without a tape and
/// with BN in evaluation mode (running statistics).
public func evaluate(_ set: ImageSet, batcher: Batcher, batchSize: Int, maxBatches: Int? = nil,
                     forward: (Tensor) throws -> Tensor) throws -> (accuracy: Float, loss: Float) {
    var rng = RNG(seed: 0)
    let order = Batcher.order(count: set.count, batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng)
    var correct = 0, seen = 0, lossSum = 0.0
    for indices in order.prefix(maxBatches ?? order.count) {
        let (x, labels) = batcher.batch(set, indices, rng: &rng)
        let logits = try Tensor.forwardInSlices(x, forward)
        let loss = try withNoGrad { try logits.crossEntropy(labels: labels) }
        correct += zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
        seen += labels.count
        lossSum += Double(loss.item) * Double(labels.count)
    }
    return (Float(correct) / Float(max(seen, 1)), Float(lossSum / Double(max(seen, 1))))
}
