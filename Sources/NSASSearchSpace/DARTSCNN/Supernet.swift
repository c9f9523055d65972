import NSASTensor

/// The weight-sharing supernet of the DARTS CNN space: one weight set holding every op on every
/// edge of every cell. A forward pass for an architecture runs only the ops on its path; the
/// other ops' weights get no gradient, and their BN statistics are untouched.
public final class Supernet: Layer {
    public let config: CNNConfig
    let stem: Stem
    let cells: [SupernetCell]
    let classifier: Classifier

    /// Builds the supernet with weights from a seeded RNG.
    public init(_ config: CNNConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        stem = Stem(config, rng: &rng)
        let plans = CellPlan.plan(config) { _ in config.nodes }
        var cells: [SupernetCell] = []
        for p in plans { cells.append(SupernetCell(p, config: config, rng: &rng)) }
        self.cells = cells
        classifier = Classifier(config.nodes * plans.last!.c, config.classes, rng: &rng)
    }

    /// Logits (N, classes) of the architecture's path for images (N, inputChannels, size, size).
    public func forward(_ x: Tensor, arch: Genotype, _ ctx: ForwardContext) throws -> Tensor {
        try check(x)
        return try forward(prefix: nil, x: x, arch: arch, ctx)
    }

    /// The same from a shared prefix (`prefix(_:_:)`), whose tensors stand for the stem and the
    /// preprocessing that reads only the stem's output.
    public func forward(prefix: SharedPrefix?, x: Tensor?, arch: Genotype, _ ctx: ForwardContext) throws -> Tensor {
        guard arch.nodes == config.nodes else {
            throw SearchSpaceError.genotype("it has \(arch.nodes) nodes per cell, the supernet \(config.nodes)")
        }
        return try run(prefix, x, ctx) { cell, s0, s1, pre, share in
            try cell.forward(s0, s1, cell.plan.reduction ? arch.reduce : arch.normal,
                             concat: cell.plan.reduction ? arch.reduceConcat : arch.normalConcat, ctx, preprocessed: pre, share: share)
        }
    }

    /// GDAS's forward pass: every edge of every cell runs the one op `ops[edge]` (index in the
    /// space's primitive order; `none` adds nothing), its output scaled by `weights[edge]` when given
    /// (the straight-through architecture weight). Nodes sum all their incoming edges.
    public func forward(_ x: Tensor?, prefix: SharedPrefix? = nil, normalOps: [Int], reduceOps: [Int], normalWeights: [Tensor?],
                        reduceWeights: [Tensor?], _ ctx: ForwardContext) throws -> Tensor {
        let e = config.edgesPerCell
        guard normalOps.count == e, reduceOps.count == e, normalWeights.count == e, reduceWeights.count == e else {
            throw SearchSpaceError.genotype("GDAS paths need one op per edge (\(e) per cell)")
        }
        if let x { try check(x) }
        return try run(prefix, x, ctx) { cell, s0, s1, pre, share in
            let red = cell.plan.reduction
            return try cell.forwardAllEdges(s0, s1, red ? reduceOps : normalOps, red ? reduceWeights : normalWeights, ctx, preprocessed: pre, share: share)
        }
    }

    func check(_ x: Tensor) throws {
        guard x.rank == 4, x.shape[1] == config.inputChannels, x.shape[2] == config.imageSize, x.shape[3] == config.imageSize else {
            throw TensorError.shape(op: "Supernet", message: "expects images (N, \(config.inputChannels), \(config.imageSize), \(config.imageSize)), got \(x.shape)")
        }
    }

    /// The cells in order from the stem (or a prefix), then the classifier.
    func run(_ prefix: SharedPrefix?, _ x: Tensor?, _ ctx: ForwardContext,
             _ cellForward: (SupernetCell, Tensor, Tensor, (Tensor?, Tensor?), EdgeShare?) throws -> Tensor) throws -> Tensor {
        guard let stemOut = try prefix?.stem ?? x.map({ try stem.forward($0, ctx) }) else {
            throw TensorError.argument(op: "Supernet", message: "needs images or a prefix")
        }
        var s0 = stemOut, s1 = stemOut
        for (i, cell) in cells.enumerated() {
            let pre: (Tensor?, Tensor?) = i == 0 ? (prefix?.cell0Pre0, prefix?.cell0Pre1) : i == 1 ? (prefix?.cell1Pre0, nil) : (nil, nil)
            let out = try cellForward(cell, s0, s1, pre, i < 2 ? prefix?.edges.map { EdgeShare(edges: $0, cell: i) } : nil)
            s0 = s1; s1 = out
        }
        return try classifier.forward(s1)
    }

    /// What no architecture changes: the stem's output and the preprocessing of the inputs that are
    /// the stem's output (both of cell 0's, cell 1's first). Computed once for the paths that share
    /// a batch; `shared()` gives leaves to run them from, and `backward` sends their summed gradient
    /// through the prefix once.
    public func prefix(_ x: Tensor, _ ctx: ForwardContext) throws -> SharedPrefix {
        try check(x)
        let s = try stem.forward(x, ctx)
        return SharedPrefix(stem: s, cell0Pre0: try cells[0].pre0.forward(s, ctx), cell0Pre1: try cells[0].pre1.forward(s, ctx),
                            cell1Pre0: cells.count > 1 ? try cells[1].pre0.forward(s, ctx) : nil)
    }

    /// The ops of cells 0 and 1 that `path` runs on shared inputs (see `SharedEdges`).
    public func sharedKeys(_ path: Path<Genotype>) -> [SharedEdges.Key] {
        cells.prefix(2).enumerated().flatMap { i, cell -> [SharedEdges.Key] in
            switch path {
            case .arch(let g):
                let edges = cell.plan.reduction ? g.reduce : g.normal
                return edges.indices.compactMap { k in
                    let p = SupernetCell.place(edges, k)
                    return cell.sharedKey(cell: i, edge: p.edge, op: p.op, input: edges[k].input)
                }
            case .edges(let e, _):
                let ops = e.cells[cell.plan.reduction ? 1 : 0]
                return ops.indices.compactMap { cell.sharedKey(cell: i, edge: $0, op: ops[$0], input: CNNConfig.edgeInput($0)) }
            }
        }
    }

    public var parameters: [Tensor] { stem.parameters + cells.flatMap(\.parameters) + classifier.parameters }

    /// The parameters an architecture's path uses (the rest get no gradient from it).
    public func parameters(of arch: Genotype) -> [Tensor] {
        stem.parameters + cells.flatMap { $0.parameters(of: $0.plan.reduction ? arch.reduce : arch.normal) } + classifier.parameters
    }

    public func named(_ p: String = "supernet") -> [(String, Tensor)] {
        stem.named("\(p).stem") + cells.enumerated().flatMap { $1.named("\(p).cells.\($0)") } + classifier.named("\(p).classifier")
    }
}

final class SupernetCell: Layer {
    let plan: CellPlan
    let pre0: CellOp, pre1: CellOp
    /// ops[edge][primitive index in DARTS order]
    let ops: [[CellOp]]
    let nodes: Int

    init(_ plan: CellPlan, config: CNNConfig, rng: inout RNG) {
        self.plan = plan; nodes = config.nodes
        pre0 = preprocess0(plan, affine: false, rng: &rng)
        pre1 = ReLUConvBN(plan.cPrev, plan.c, kernel: 1, stride: 1, pad: 0, affine: false, rng: &rng)
        var ops: [[CellOp]] = []
        for i in 0..<config.nodes {
            for j in 0..<(2 + i) {
                let stride = plan.reduction && j < 2 ? 2 : 1
                ops.append(DARTSCNNSpace.ops.map { $0.make(channels: plan.c, stride: stride, affine: false, search: true, rng: &rng) })
            }
        }
        self.ops = ops
    }

    /// The supernet edge and op index of genotype edge k.
    static func place(_ edges: [Edge], _ k: Int) -> (edge: Int, op: Int) {
        (CNNConfig.edgeIndex(node: k / 2, input: edges[k].input), DARTSCNNSpace.ops.firstIndex(of: edges[k].op)!)
    }

    func op(_ edges: [Edge], _ k: Int) -> CellOp {
        let p = Self.place(edges, k)
        return ops[p.edge][p.op]
    }

    func forward(_ s0: Tensor, _ s1: Tensor, _ edges: [Edge], concat: [Int], _ ctx: ForwardContext,
                 preprocessed: (Tensor?, Tensor?) = (nil, nil), share: EdgeShare? = nil) throws -> Tensor {
        try runCell(s0: s0, s1: s1, pre0: pre0, pre1: pre1, edges: edges, concat: concat, reduction: plan.reduction, ctx: ctx,
                    preprocessed: preprocessed, edgeForward: { k, x in
            let p = Self.place(edges, k)
            return try self.forward(share, edge: p.edge, op: p.op, input: edges[k].input, x, ctx)
        }) {
            op(edges, $0)
        }
    }

    /// The key of an op on an edge of this cell (cell `cell` of the supernet) when its input is a
    /// shared prefix tensor and the op computes something (not `none`, not an identity).
    func sharedKey(cell: Int, edge: Int, op: Int, input: Int) -> SharedEdges.Key? {
        guard cell == 0 ? input < 2 : cell == 1 && input == 0, DARTSCNNSpace.ops[op] != .none, !(ops[edge][op] is IdentityOp) else { return nil }
        return SharedEdges.Key(cell: cell, edge: edge, op: op)
    }

    /// One edge's op output: shared with the batch's other paths where it can be.
    func forward(_ share: EdgeShare?, edge: Int, op: Int, input j: Int, _ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        guard let share, let key = sharedKey(cell: share.cell, edge: edge, op: op, input: j) else { return try ops[edge][op].forward(x, ctx) }
        return try share.edges.output(key) { try ops[edge][op].forward(x, ctx) }
    }

    func forwardAllEdges(_ s0: Tensor, _ s1: Tensor, _ opIndex: [Int], _ weights: [Tensor?], _ ctx: ForwardContext,
                         preprocessed: (Tensor?, Tensor?) = (nil, nil), share: EdgeShare? = nil) throws -> Tensor {
        var states = [try preprocessed.0 ?? pre0.forward(s0, ctx), try preprocessed.1 ?? pre1.forward(s1, ctx)]
        let p = states[1]
        let outShape = [p.shape[0], p.shape[1], plan.reduction ? p.shape[2] / 2 : p.shape[2], plan.reduction ? p.shape[3] / 2 : p.shape[3]]
        for i in 0..<nodes {
            var sum: Tensor? = nil
            for j in 0..<(2 + i) {
                let e = CNNConfig.edgeIndex(node: i, input: j)
                guard DARTSCNNSpace.ops[opIndex[e]] != .none else { continue }
                var h = try forward(share, edge: e, op: opIndex[e], input: j, states[j], ctx)
                if let w = weights[e] { h = try h.scaled(byTensor: w) }
                sum = try sum.map { try $0 + h } ?? h
            }
            states.append(sum ?? Tensor(zeros: outShape))
        }
        return try Tensor.concat(Array(states[2...]), axis: 1)
    }

    var parameters: [Tensor] { pre0.parameters + pre1.parameters + ops.flatMap { $0.flatMap(\.parameters) } }
    func parameters(of edges: [Edge]) -> [Tensor] {
        pre0.parameters + pre1.parameters + edges.indices.flatMap { op(edges, $0).parameters }
    }
    func named(_ p: String) -> [(String, Tensor)] {
        var out = pre0.named("\(p).preprocess0") + pre1.named("\(p).preprocess1")
        for (e, row) in ops.enumerated() {
            for (k, op) in row.enumerated() { out += op.named("\(p).edges.\(e).\(DARTSCNNSpace.ops[k].name)") }
        }
        return out
    }
}

/// Cell `cell`'s view of a batch's shared edges.
struct EdgeShare {
    let edges: SharedEdges, cell: Int
}

/// The architecture-independent start of a supernet forward pass (see `Supernet.prefix`).
public struct SharedPrefix {
    public var stem: Tensor, cell0Pre0: Tensor, cell0Pre1: Tensor, cell1Pre0: Tensor?
    /// The leaves' ops of cells 0 and 1 that several paths share (nil: none are).
    public var edges: SharedEdges? = nil
    var all: [Tensor] { [stem, cell0Pre0, cell0Pre1] + (cell1Pre0.map { [$0] } ?? []) }

    /// Copies of the values as leaves that collect the gradients of every path run from them;
    /// with `planned` paths (of `net`), the ops they share with each other or with a path run
    /// first are computed once (`SharedEdges`).
    public func shared(planned: [Path<Genotype>] = [], of net: Supernet? = nil) -> SharedPrefix {
        func leaf(_ t: Tensor) -> Tensor { t.detach().requiringGrad(t.requiresGrad) }
        return SharedPrefix(stem: leaf(stem), cell0Pre0: leaf(cell0Pre0), cell0Pre1: leaf(cell0Pre1), cell1Pre0: cell1Pre0.map(leaf),
                            edges: net.map { n in SharedEdges(planned: planned.map(n.sharedKeys)) })
    }

    /// Sends the gradients the leaves collected through the shared ops and the prefix (this one,
    /// on the tape), once.
    public func backward(from leaves: SharedPrefix) throws {
        try leaves.edges?.backward()
        let seeds = zip(all, leaves.all).compactMap { t, l in l.gradTensor.map { (tensor: t, gradient: $0) } }
        try Tensor.backward(seeds: seeds)
    }
}
