import NSASTensor

/// The computation every DARTS cell shares: preprocess the two inputs, build each node as the sum
/// of its two edges' ops, concatenate the chosen nodes. `op(k)` gives the op of genotype edge k.
/// `none` edges add nothing (a node of two `none` edges is zeros).
func runCell(s0: Tensor, s1: Tensor, pre0: CellOp, pre1: CellOp, edges: [Edge], concat: [Int], reduction: Bool,
             ctx: ForwardContext, preprocessed: (Tensor?, Tensor?) = (nil, nil),
             edgeForward: ((Int, Tensor) throws -> Tensor)? = nil, op: (Int) -> CellOp) throws -> Tensor {
    var states: [Tensor?] = [try preprocessed.0 ?? pre0.forward(s0, ctx), try preprocessed.1 ?? pre1.forward(s1, ctx)]
    let p = states[1]!
    let outShape = [p.shape[0], p.shape[1], reduction ? p.shape[2] / 2 : p.shape[2], reduction ? p.shape[3] / 2 : p.shape[3]]
    // A node that no later edge reads and the output takes once is summed straight into the
    // output's channels (Tensor.concatSums), without a tensor of its own.
    let read = Set(edges.filter { $0.op != .none }.map(\.input))
    var unsummed: [Int: [Tensor]] = [:]
    for node in 0..<(edges.count / 2) {
        var parts: [Tensor] = []
        for k in [2 * node, 2 * node + 1] where edges[k].op != .none {
            let x = states[edges[k].input]!
            var h = try edgeForward?(k, x) ?? op(k).forward(x, ctx)
            if ctx.training && ctx.dropPath > 0 && !(op(k) is IdentityOp) {
                h = try dropPath(h, ctx)
            }
            parts.append(h)
        }
        let index = node + 2
        if parts.count == 2 && !read.contains(index) && concat.filter({ $0 == index }).count == 1 {
            unsummed[index] = parts
            states.append(nil)
        } else {
            states.append(try parts.count == 2 ? parts[0] + parts[1] : parts.first ?? Tensor(zeros: outShape))
        }
    }
    return try Tensor.concatSums(concat.map { unsummed[$0] ?? [states[$0]!] }, axis: 1)
}

/// Drops each sample's whole op output with probability p, scaling the rest by 1/(1-p).
func dropPath(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
    let keep = 1 - ctx.dropPath
    var mask = [Float](repeating: 0, count: x.shape[0])
    for i in mask.indices { mask[i] = ctx.rng.uniform() < keep ? 1 / keep : 0 }
    return try x * Tensor(mask, shape: [x.shape[0], 1, 1, 1])
}

/// The stem: 3x3 convolution to stemMultiplier*C channels and an affine BN.
final class Stem: Layer {
    let w: Tensor; let bn: BatchNorm
    init(_ config: CNNConfig, rng: inout RNG) {
        let c = config.stemMultiplier * config.channels
        w = convWeight(c, config.inputChannels, 3, &rng); bn = BatchNorm(c, affine: true)
    }
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor { try bn.afterConv(x, w, padding: 1, ctx) }
    var parameters: [Tensor] { [w] + bn.parameters }
    func named(_ p: String) -> [(String, Tensor)] { [("\(p).conv.weight", w)] + bn.named("\(p).bn") }
}

/// Global average pooling and a linear layer.
final class Classifier: Layer {
    let w: Tensor, b: Tensor
    init(_ inFeatures: Int, _ classes: Int, rng: inout RNG) {
        w = Tensor.parameter(shape: [classes, inFeatures], rng: &rng)
        b = Tensor.parameter(shape: [classes], rng: &rng, fanIn: inFeatures)
    }
    func forward(_ x: Tensor) throws -> Tensor { try x.globalAvgPool().linear(w, bias: b) }
    var parameters: [Tensor] { [w, b] }
    func named(_ p: String) -> [(String, Tensor)] { [("\(p).weight", w), ("\(p).bias", b)] }
}

/// Channel bookkeeping shared by the supernet and stand-alone networks: for each cell, its
/// input channels, its C, and whether it and its predecessor reduce.
struct CellPlan {
    var cPrevPrev: Int, cPrev: Int, c: Int, reduction: Bool, reductionPrev: Bool
    static func plan(_ config: CNNConfig, outputNodes: (Bool) -> Int) -> [CellPlan] {
        var cpp = config.stemMultiplier * config.channels, cp = cpp, c = config.channels
        var plans: [CellPlan] = [], redPrev = false
        for i in 0..<config.layers {
            let red = config.reductionCells.contains(i)
            if red { c *= 2 }
            plans.append(CellPlan(cPrevPrev: cpp, cPrev: cp, c: c, reduction: red, reductionPrev: redPrev))
            redPrev = red
            cpp = cp; cp = outputNodes(red) * c
        }
        return plans
    }
}

func preprocess0(_ p: CellPlan, affine: Bool, rng: inout RNG) -> CellOp {
    p.reductionPrev ? FactorizedReduce(p.cPrevPrev, p.c, affine: affine, rng: &rng)
                    : ReLUConvBN(p.cPrevPrev, p.c, kernel: 1, stride: 1, pad: 0, affine: affine, rng: &rng)
}
