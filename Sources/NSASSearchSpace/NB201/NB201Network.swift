import NSASTensor

/// Sizes of a NAS-Bench-201 network: C channels in the first stage (2C, 4C after the residual
/// reduction blocks), N cells a stage; the benchmark's networks have C = 16, N = 5.
public struct NB201Config: Codable, Hashable, Sendable {
    public var channels: Int, cellsPerStage: Int, inputChannels: Int, imageSize: Int, classes: Int
    public init(channels: Int = 16, cellsPerStage: Int = 5, inputChannels: Int = 3, imageSize: Int = 32, classes: Int = 10) {
        self.channels = channels; self.cellsPerStage = cellsPerStage; self.inputChannels = inputChannels
        self.imageSize = imageSize; self.classes = classes
    }
}

/// The NAS-Bench-201 network (the benchmark's `TinyNetwork`): stem conv 3x3 + BN, three stages
/// of N cells with C, 2C, 4C channels, a residual reduction block between stages, BN-ReLU, global
/// pooling and a linear classifier. With `candidates` every edge holds all five ops (the
/// weight-sharing supernet); otherwise each edge holds only the op of `arch` (stand-alone).
/// Cells of the supernet use BN without affine parameters (the benchmark's search setting); the
/// stand-alone network, the stem and the reduction blocks use affine BN.
public final class NB201Network: Layer {
    public let config: NB201Config
    let stemConv: Tensor, stemBN: BatchNorm
    /// Cells and reduction blocks in order (the benchmark's `cells` list).
    let blocks: [NB201Block]
    let lastBN: BatchNorm
    let classifier: Classifier

    public init(_ config: NB201Config, arch: NB201Arch?, rng: inout RNG) throws {
        guard (1...4096).contains(config.channels), (1...100).contains(config.cellsPerStage), config.imageSize >= 4 else {
            throw SearchSpaceError.config("NAS-Bench-201 needs 1..4096 channels, 1..100 cells a stage and images of at least 4x4")
        }
        self.config = config
        stemConv = convWeight(config.channels, config.inputChannels, 3, &rng); stemBN = BatchNorm(config.channels, affine: true)
        var blocks: [NB201Block] = [], c = config.channels
        for stage in 0..<3 {
            if stage > 0 { blocks.append(.reduction(ResidualReduction(c, 2 * c, rng: &rng))); c *= 2 }
            for _ in 0..<config.cellsPerStage { blocks.append(.cell(NB201Cell(channels: c, arch: arch, rng: &rng))) }
        }
        self.blocks = blocks
        lastBN = BatchNorm(c, affine: true)
        classifier = Classifier(c, config.classes, rng: &rng)
    }

    /// Logits of `arch`'s path (in the supernet) or of the network's own cell (stand-alone: `arch` nil).
    public func forward(_ x: Tensor, arch: NB201Arch?, _ ctx: ForwardContext) throws -> Tensor {
        try run(x, ctx) { try $0.forward($1, ops: arch.map { $0.ops.map { NB201Op.allCases.firstIndex(of: $0)! } }, weights: nil, ctx) }
    }

    /// GDAS: every edge runs op `ops[edge]` (index in `NB201Op.allCases`), scaled by `weights[edge]` when given.
    public func forward(_ x: Tensor, ops: [Int], weights: [Tensor?], _ ctx: ForwardContext) throws -> Tensor {
        guard ops.count == 6, weights.count == 6, ops.allSatisfy({ NB201Op.allCases.indices.contains($0) }) else {
            throw SearchSpaceError.genotype("NAS-Bench-201 GDAS paths need one op (0..4) and one weight per edge (6)")
        }
        return try run(x, ctx) { try $0.forward($1, ops: ops, weights: weights, ctx) }
    }

    func run(_ x: Tensor, _ ctx: ForwardContext, _ cell: (NB201Cell, Tensor) throws -> Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == config.inputChannels, x.shape[2] == config.imageSize, x.shape[3] == config.imageSize else {
            throw TensorError.shape(op: "NB201Network", message: "expects images (N, \(config.inputChannels), \(config.imageSize), \(config.imageSize)), got \(x.shape)")
        }
        var h = try stemBN.afterConv(x, stemConv, padding: 1, ctx)
        for b in blocks {
            switch b {
            case .cell(let c): h = try cell(c, h)
            case .reduction(let r): h = try r.forward(h, ctx)
            }
        }
        return try classifier.forward(lastBN(h, ctx).relu())
    }

    public var parameters: [Tensor] {
        [stemConv] + stemBN.parameters + blocks.flatMap(\.layer.parameters) + lastBN.parameters + classifier.parameters
    }

    /// The parameters `arch`'s path uses.
    public func parameters(of arch: NB201Arch) -> [Tensor] {
        [stemConv] + stemBN.parameters + blocks.flatMap { b -> [Tensor] in
            switch b {
            case .cell(let c): return c.parameters(of: arch)
            case .reduction(let r): return r.parameters
            }
        } + lastBN.parameters + classifier.parameters
    }

    public func named(_ p: String) -> [(String, Tensor)] {
        [("\(p).stem.0.weight", stemConv)] + stemBN.named("\(p).stem.1")
            + blocks.enumerated().flatMap { $1.layer.named("\(p).cells.\($0)") }
            + lastBN.named("\(p).lastact.0") + classifier.named("\(p).classifier")
    }
}

enum NB201Block {
    case cell(NB201Cell), reduction(ResidualReduction)
    var layer: Layer { switch self { case .cell(let c): return c; case .reduction(let r): return r } }
}

/// One cell: per edge the candidate ops (all five in the supernet, one stand-alone; `none` holds nothing).
final class NB201Cell: Layer {
    /// ops[edge][op index]: nil where the edge has no such op (or the op is `none`).
    let ops: [[CellOp?]]

    init(channels c: Int, arch: NB201Arch?, rng: inout RNG) {
        ops = (0..<6).map { e in
            NB201Op.allCases.map { op -> CellOp? in
                guard arch == nil || arch!.ops[e] == op else { return nil }
                switch op {
                case .none: return nil
                case .skipConnect: return IdentityOp()
                case .conv1x1: return ReLUConvBN(c, c, kernel: 1, stride: 1, pad: 0, affine: arch != nil, rng: &rng)
                case .conv3x3: return ReLUConvBN(c, c, kernel: 3, stride: 1, pad: 1, affine: arch != nil, rng: &rng)
                case .avgPool3x3: return PoolOp(max: false, channels: c, stride: 1, withBN: false)
                }
            }
        }
    }

    /// `ops` nil: each edge's only op (stand-alone). Node j sums its edges; a node whose edges are
    /// all `none` is zeros.
    func forward(_ x: Tensor, ops choice: [Int]?, weights: [Tensor?]?, _ ctx: ForwardContext) throws -> Tensor {
        var nodes = [x]
        for to in 1..<NB201Arch.nodes {
            var sum: Tensor? = nil
            for (e, edge) in NB201Arch.edges.enumerated() where edge.to == to {
                let op: CellOp?
                if let choice {
                    guard NB201Op.allCases[choice[e]] != .none else { continue }
                    guard let o = ops[e][choice[e]] else {
                        throw SearchSpaceError.genotype("this network has no \(NB201Op.allCases[choice[e]].rawValue) on edge \(edge.to)<-\(edge.from)")
                    }
                    op = o
                } else {
                    op = ops[e].compactMap { $0 }.first
                }
                guard let op else { continue }
                var h = try op.forward(nodes[edge.from], ctx)
                if let w = weights?[e] { h = try h.scaled(byTensor: w) }
                sum = try sum.map { try $0 + h } ?? h
            }
            nodes.append(sum ?? Tensor(zeros: x.shape))
        }
        return nodes[NB201Arch.nodes - 1]
    }

    var parameters: [Tensor] { ops.flatMap { $0.compactMap { $0 }.flatMap(\.parameters) } }
    func parameters(of arch: NB201Arch) -> [Tensor] {
        arch.ops.enumerated().flatMap { e, op in ops[e][NB201Op.allCases.firstIndex(of: op)!]?.parameters ?? [] }
    }
    func named(_ p: String) -> [(String, Tensor)] {
        ops.enumerated().flatMap { e, row in
            row.enumerated().flatMap { k, op in op?.named("\(p).edges.\(e).\(NB201Op.allCases[k].rawValue)") ?? [] }
        }
    }
}

/// The residual block between stages (the benchmark's `ResNetBasicblock` at stride 2):
/// ReLU-conv 3x3 stride 2-BN, ReLU-conv 3x3-BN, plus a shortcut of 2x2 average pooling and a 1x1
/// convolution.
final class ResidualReduction: Layer {
    let a: ReLUConvBN, b: ReLUConvBN, shortcut: Tensor
    init(_ cIn: Int, _ cOut: Int, rng: inout RNG) {
        a = ReLUConvBN(cIn, cOut, kernel: 3, stride: 2, pad: 1, affine: true, rng: &rng)
        b = ReLUConvBN(cOut, cOut, kernel: 3, stride: 1, pad: 1, affine: true, rng: &rng)
        shortcut = convWeight(cOut, cIn, 1, &rng)
    }
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try b.forward(a.forward(x, ctx), ctx) + x.avgPool2d(kernel: 2, stride: 2, padding: 0).conv2d(shortcut)
    }
    var parameters: [Tensor] { a.parameters + b.parameters + [shortcut] }
    func named(_ p: String) -> [(String, Tensor)] { a.named("\(p).conv_a") + b.named("\(p).conv_b") + [("\(p).downsample.1.weight", shortcut)] }
}
