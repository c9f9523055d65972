import NSASTensor

/// A network built from a genotype with its own weights, for training from scratch (the ground
/// truth a supernet's ranking is measured against): affine BN, drop-path (not on identity ops),
/// an optional auxiliary head after the second reduction cell.
public final class StandaloneNetwork: Layer {
    public let config: CNNConfig
    public let genotype: Genotype
    let stem: Stem
    let cells: [GenotypeCell]
    let classifier: Classifier
    let aux: AuxiliaryHead?
    let auxAfter: Int

    public init(_ genotype: Genotype, config: CNNConfig, auxiliary: Bool = false, rng: inout RNG) throws {
        try config.validate()
        guard genotype.nodes == config.nodes else {
            throw SearchSpaceError.genotype("it has \(genotype.nodes) nodes per cell, the network \(config.nodes)")
        }
        self.config = config; self.genotype = genotype
        stem = Stem(config, rng: &rng)
        let plans = CellPlan.plan(config) { $0 ? genotype.reduceConcat.count : genotype.normalConcat.count }
        var cells: [GenotypeCell] = []
        for p in plans { cells.append(GenotypeCell(p, genotype: genotype, rng: &rng)) }
        self.cells = cells
        auxAfter = 2 * config.layers / 3
        if auxiliary {
            // Feature size after the cell the head follows.
            var size = config.imageSize
            for i in 0...auxAfter where config.reductionCells.contains(i) { size /= 2 }
            let p = plans[auxAfter]
            aux = AuxiliaryHead(channels: (p.reduction ? genotype.reduceConcat.count : genotype.normalConcat.count) * p.c,
                                size: size, classes: config.classes, rng: &rng)
        } else { aux = nil }
        let last = plans.last!
        classifier = Classifier((last.reduction ? genotype.reduceConcat.count : genotype.normalConcat.count) * last.c,
                                config.classes, rng: &rng)
    }

    /// Logits, and the auxiliary head's logits in training mode when the network has one.
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (logits: Tensor, aux: Tensor?) {
        guard x.rank == 4, x.shape[1] == config.inputChannels, x.shape[2] == config.imageSize, x.shape[3] == config.imageSize else {
            throw TensorError.shape(op: "StandaloneNetwork", message: "expects images (N, \(config.inputChannels), \(config.imageSize), \(config.imageSize)), got \(x.shape)")
        }
        var s0 = try stem.forward(x, ctx), s1 = s0
        var auxLogits: Tensor? = nil
        for (i, cell) in cells.enumerated() {
            let out = try cell.forward(s0, s1, ctx)
            s0 = s1; s1 = out
            if i == auxAfter, ctx.training, let aux { auxLogits = try aux.forward(s1, ctx) }
        }
        return (try classifier.forward(s1), auxLogits)
    }

    public var parameters: [Tensor] {
        stem.parameters + cells.flatMap(\.parameters) + (aux?.parameters ?? []) + classifier.parameters
    }

    /// Multiply-adds of one image through the network at inference (convolutions and the
    /// classifier; the auxiliary head is training-only and not counted), the "FLOPs" NAS papers report.
    public func multiplyAdds() throws -> Int {
        let x = Tensor(zeros: [1, config.inputChannels, config.imageSize, config.imageSize])
        return try countingMultiplyAdds { _ = try withNoGrad { try forward(x, ForwardContext(training: false)) } }
    }
    public func named(_ p: String = "network") -> [(String, Tensor)] {
        stem.named("\(p).stem") + cells.enumerated().flatMap { $1.named("\(p).cells.\($0)") }
            + (aux?.named("\(p).auxiliary") ?? []) + classifier.named("\(p).classifier")
    }
}

final class GenotypeCell: Layer {
    let plan: CellPlan
    let pre0: CellOp, pre1: CellOp
    let edges: [Edge], concat: [Int]
    let ops: [CellOp]

    init(_ plan: CellPlan, genotype: Genotype, rng: inout RNG) {
        self.plan = plan
        edges = plan.reduction ? genotype.reduce : genotype.normal
        concat = plan.reduction ? genotype.reduceConcat : genotype.normalConcat
        pre0 = preprocess0(plan, affine: true, rng: &rng)
        pre1 = ReLUConvBN(plan.cPrev, plan.c, kernel: 1, stride: 1, pad: 0, affine: true, rng: &rng)
        var ops: [CellOp] = []
        for e in edges {
            let stride = plan.reduction && e.input < 2 ? 2 : 1
            ops.append(e.op.make(channels: plan.c, stride: stride, affine: true, search: false, rng: &rng))
        }
        self.ops = ops
    }

    func forward(_ s0: Tensor, _ s1: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try runCell(s0: s0, s1: s1, pre0: pre0, pre1: pre1, edges: edges, concat: concat, reduction: plan.reduction, ctx: ctx) { ops[$0] }
    }
    var parameters: [Tensor] { pre0.parameters + pre1.parameters + ops.flatMap(\.parameters) }
    func named(_ p: String) -> [(String, Tensor)] {
        pre0.named("\(p).preprocess0") + pre1.named("\(p).preprocess1")
            + ops.enumerated().flatMap { $1.named("\(p).ops.\($0)") }
    }
}

/// DARTS's auxiliary head: ReLU, 5x5 average pooling with stride 3, 1x1 convolution to 128, BN,
/// ReLU, a convolution over the remaining map to 768, BN, ReLU, linear.
final class AuxiliaryHead: Layer {
    let w1: Tensor, bn1: BatchNorm, w2: Tensor, bn2: BatchNorm, fc: Tensor, fcBias: Tensor
    let poolKernel: Int
    init(channels: Int, size: Int, classes: Int, rng: inout RNG) {
        poolKernel = min(5, size)
        let pooled = (size - poolKernel) / 3 + 1
        w1 = convWeight(128, channels, 1, &rng); bn1 = BatchNorm(128, affine: true)
        w2 = convWeight(768, 128, pooled, &rng); bn2 = BatchNorm(768, affine: true)
        fc = Tensor.parameter(shape: [classes, 768], rng: &rng)
        fcBias = Tensor.parameter(shape: [classes], rng: &rng, fanIn: 768)
    }
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var y = try x.relu().avgPool2d(kernel: poolKernel, stride: 3, padding: 0)
        y = try bn1(y.conv2d(w1), ctx).relu()
        y = try bn2(y.conv2d(w2), ctx).relu()
        return try y.reshaped([y.shape[0], 768]).linear(fc, bias: fcBias)
    }
    var parameters: [Tensor] { [w1] + bn1.parameters + [w2] + bn2.parameters + [fc, fcBias] }
    func named(_ p: String) -> [(String, Tensor)] {
        [("\(p).conv1.weight", w1)] + bn1.named("\(p).bn1") + [("\(p).conv2.weight", w2)] + bn2.named("\(p).bn2")
            + [("\(p).classifier.weight", fc), ("\(p).classifier.bias", fcBias)]
    }
}
