import NSASData
import NSASTensor

extension SpaceID {
    /// The NAS-Bench-201 cell space (5 ops on 6 edges: 15,625 cells) on images.
    public static let nb201 = SpaceID("nb201")
}

/// Options of the NAS-Bench-201 space.
public struct NB201Options: Codable, Hashable, Sendable {
    /// Channels C of the first stage (2C, 4C after the reductions).
    public var channels = 16
    /// Cells N a stage.
    public var cellsPerStage = 5
    /// Fraction of the training file held out for scoring (not for `default`, which ships a split).
    public var heldoutFraction = 0.5
    public init() {}
}

/// The NAS-Bench-201 space (Dong & Yang, ICLR 2020) on an image data set: a single-path supernet
/// (`NB201Network` with every op on every edge), the image feed the DARTS CNN space uses, cells
/// scored by held-out accuracy. Its architectures are finite (`all`), so a ranking can cover the
/// whole space and join the benchmark's own table by the `arch` string.
public final class NB201Space: StandaloneSpace, ImageFed {
    public typealias Arch = NB201Arch
    public static let id = SpaceID.nb201
    public static var primitives: [String] { NB201Op.allCases.map(\.rawValue) }
    public static let score = ScoreKind.accuracy

    /// Searches as RandomNAS and the benchmark's weight-sharing runs (SGD 0.025 cosine to 0.001,
    /// momentum 0.9, weight decay 5e-4, batch 64); stand-alone as the benchmark trained its cells
    /// (SGD 0.1 cosine to 0, momentum 0.9, weight decay 5e-4, batch 256).
    public static func defaults(standalone: Bool) -> (SpaceDefaults, NB201Options) {
        (SpaceDefaults(batch: standalone ? 256 : 64, evalBatch: 256, lr: standalone ? 0.1 : 0.025, lrMin: standalone ? 0 : 0.001,
                       momentum: 0.9, weightDecay: 5e-4, clip: 5, cosine: true, recentSize: 50, searchSamples: 1000,
                       searchBatches: 10, searchBatchSize: 64, allowNone: true), NB201Options())
    }

    public static func validate(_ o: NB201Options) throws {
        if !(1...1024).contains(o.channels) { throw SearchSpaceError.option("--channels must be between 1 and 1024") }
        if !(1...100).contains(o.cellsPerStage) { throw SearchSpaceError.option("--cells-per-stage must be between 1 and 100") }
        if !(o.heldoutFraction > 0 && o.heldoutFraction < 1) { throw SearchSpaceError.option("--heldout-fraction must be in (0, 1)") }
    }

    public static func loadData(_ options: NB201Options, setup: SpaceSetup) throws -> DataSplits {
        try DataSource.load(setup.data, seed: setup.seed, heldoutFraction: options.heldoutFraction)
    }

    public static func sample(_ options: NB201Options, allowNone: Bool, _ rng: inout RNG) -> NB201Arch {
        NB201Arch.sample(allowNone: allowNone, &rng)
    }

    public static func check(_ arch: NB201Arch, options: NB201Options) throws {}

    public static let cellTypes = ["cell"]
    public static func edgeCounts(_ options: NB201Options) -> [Int] { [6] }

    public static func sites(_ arch: NB201Arch) -> [PathSite] {
        arch.ops.enumerated().map { PathSite(cellType: 0, edge: $0, op: $1.rawValue) }
    }

    /// `supernet.cells.C.edges.E.OP....`: cell C (reduction blocks have no edges), edge E, op OP.
    public static func site(ofTensor name: String, options: NB201Options) -> (site: PathSite, cell: Int)? {
        let parts = name.split(separator: ".")
        guard parts.count > 5, parts[1] == "cells", let c = Int(parts[2]), parts[3] == "edges", let e = Int(parts[4]) else { return nil }
        return (PathSite(cellType: 0, edge: e, op: String(parts[5])), c)
    }

    /// Each edge's most probable op, `none` included (the benchmark's GDAS does the same).
    public static func genotype(logits: [Tensor], options: NB201Options) throws -> NB201Arch {
        guard logits.count == 1, logits[0].shape == [6, NB201Op.allCases.count] else {
            throw SearchSpaceError.genotype("GDAS logits of the NAS-Bench-201 space are one tensor of shape [6, 5]")
        }
        let p = logits[0].array, n = NB201Op.allCases.count
        return try NB201Arch(ops: (0..<6).map { e in NB201Op.allCases[(0..<n).max { p[e * n + $0] < p[e * n + $1] }!] })
    }

    public static func pathText(_ path: EdgeOps, options: NB201Options) -> String {
        EdgeOps.prefix + NB201Arch(uncheckedOps: path.cells[0].map { NB201Op.allCases[$0] }).canonical
    }

    /// Every architecture, in index order.
    public static func all(_ options: NB201Options) -> [NB201Arch]? { (0..<NB201Arch.count).map { try! NB201Arch(index: $0) } }

    public let options: NB201Options
    public let supernet: NB201Network
    public let feed: ImageFeed

    public init(options: NB201Options, setup: SpaceSetup, data: DataSplits, streams: RandomStreams) throws {
        try Self.validate(options)
        self.options = options
        feed = ImageFeed(data, setup: setup)
        supernet = try NB201Network(Self.config(options, data), arch: nil, rng: &streams[RandomStreams.initialization])
    }

    static func config(_ o: NB201Options, _ data: DataSplits) -> NB201Config {
        NB201Config(channels: o.channels, cellsPerStage: o.cellsPerStage, inputChannels: data.channels, imageSize: data.imageSize, classes: data.classes)
    }

    public var parameters: [Tensor] { supernet.parameters }
    public func named() -> [(String, Tensor)] { supernet.named("supernet") }
    public var summary: String { "\(data.name); NAS-Bench-201 supernet, C=\(options.channels), N=\(options.cellsPerStage), \(supernet.parameterCount) parameters" }
    public var networkJSON: [String: Any] {
        let c = supernet.config
        return ["channels": c.channels, "cells_per_stage": c.cellsPerStage, "input_channels": c.inputChannels,
                "image_size": c.imageSize, "classes": c.classes]
    }


    public func loss(_ path: Path<NB201Arch>, _ batch: ImageBatch, regularized: Bool) throws -> PathLoss {
        let ctx = ForwardContext(training: true)
        switch path {
        case .arch(let a): return try ImageFeed.loss(supernet.forward(batch.x, arch: a, ctx), batch)
        case .edges(let e, let w):
            return try ImageFeed.loss(supernet.forward(batch.x, ops: e.cells[0], weights: w?[0] ?? [Tensor?](repeating: nil, count: 6), ctx), batch)
        }
    }


    public func score(_ arch: NB201Arch, batches: Int?, batchSize: Int?) throws -> ArchScore {
        try feed.score(data.heldout, batches: batches, batchSize: batchSize) { try supernet.forward($0, arch: arch, ForwardContext(training: false)) }
    }

    public func recalibrate(_ arch: NB201Arch, batches: Int) throws {
        try feed.recalibrate(batches: batches) { try supernet.forward($0, arch: arch, $1) }
    }

    public static func memoryEstimate(_ options: NB201Options, data: DataSplits, batch: Int, training: Bool, supernet: Bool) -> Double {
        // Weights: per cell 6 edges of a 3x3 and a 1x1 convolution (10 C^2; stand-alone at least
        // nothing), blocks 2 x 9 C^2 + C^2. Activations: a cell keeps at least 3 tensors an edge;
        // evaluation the batch's images and one cell for a slice of `Tensor.evaluationSlice` images.
        let b = Double(batch), n = Double(options.cellsPerStage)
        var params = 0.0, activations = 0.0, cellActivations = 0.0
        var c = Double(options.channels), size = Double(data.imageSize)
        for stage in 0..<3 {
            if stage > 0 { params += 19 * c * c * 2; c *= 2; size /= 2 }
            params += n * (supernet ? 60 * c * c : 0)
            cellActivations = b * c * size * size * 18
            activations += n * cellActivations
        }
        let evaluation = b * Double(data.channels) * Double(data.imageSize * data.imageSize)
            + cellActivations / max(b, 1) * min(b, Double(Tensor.evaluationSlice))
        return params * (training ? 12 : 4) + 4 * (training ? activations : evaluation)
    }
}
