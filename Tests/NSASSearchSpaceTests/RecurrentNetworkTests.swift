import Foundation
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct RecurrentNetworkTests {
    /// One hidden unit, two nodes: s0 from x and h, node 1 = tanh of s0, node 2 = relu of node 1.
    @Test func cellMathsMatchesAHandComputedExample() throws {
        var rng = RNG(seed: 0)
        let cell = RecurrentCell(input: 1, hidden: 1, nodes: 2, rng: &rng)
        for (t, v) in zip([cell.w0, cell.ws[0], cell.ws[1]], [[0.5, -0.3, 0.2, 0.8], [0.6, -0.9], [-0.7, 1.1]] as [[Float]]) {
            for (i, x) in v.enumerated() { t.ptr[i] = x }
        }
        let g = try RecurrentGenotype(parsing: "Genotype(recurrent=[('tanh', 0), ('relu', 1)], concat=range(1, 3))")
        let out = try cell.step(try Tensor([0.7], shape: [1, 1]), try Tensor([-0.4], shape: [1, 1]), g, masks: RecurrentMasks())
        // By hand: [c0|h0] = [0.7, -0.4] W0 = [0.27, -0.53]; s0 = h + sigmoid(c0) (tanh(h0) - h) = -0.448419;
        // s1 = s0 + sigmoid(0.6 s0) (tanh(-0.9 s0) - s0) = -0.088296; s2 = s1 + sigmoid(-0.7 s1) (relu(1.1 s1) - s1)
        // = -0.042784; h_t = (s1 + s2) / 2.
        assertClose(out.array, [-0.06553990716811976], rtol: 1e-5, atol: 1e-6)
        // `none` contributes zero, as in DARTS (the update formula would give (1 - sigmoid(c)) s0).
        let none = try RecurrentGenotype(recurrent: [RecurrentEdge(.none, 0)], concat: [1])
        let n = try cell.step(try Tensor([0.7], shape: [1, 1]), try Tensor([-0.4], shape: [1, 1]), none, masks: RecurrentMasks())
        #expect(n.array == [0])
        // In the all-edge cell a `none` edge adds nothing to its node: node 1 = (its tanh edge + 0) / 2.
        let allEdges = try cell.stepAllEdges(try Tensor([0.7], shape: [1, 1]), try Tensor([-0.4], shape: [1, 1]),
                                             ops: [.tanh, .tanh, .none], weights: [nil, nil, nil], masks: RecurrentMasks())
        let s0: Double = -0.4484190107005188
        let s1 = s0 + 1 / (1 + Foundation.exp(-0.6 * s0)) * (Foundation.tanh(-0.9 * s0) - s0)
        let n2 = (s0 + 1 / (1 + Foundation.exp(0.7 * s0)) * (Foundation.tanh(1.1 * s0) - s0)) / 2   // edge (1, 0) with W_1; edge (1, 1) none
        assertClose(allEdges.array, [Float((s1 + n2) / 2)], rtol: 1e-5, atol: 1e-6)
    }

    func tiny() throws -> RecurrentNetwork {
        var rng = RNG(seed: 3)
        return try RecurrentNetwork(RNNConfig(vocabulary: 7, hidden: 3, nodes: 3, dropout: 0.3, dropoutH: 0.2, dropoutX: 0.2, dropoutI: 0.1, dropoutE: 0.1), rng: &rng)
    }

    @Test func gradientsMatchCentralDifferences() throws {
        let net = try tiny()
        let g = try RecurrentGenotype(parsing: "rnn:sigmoid~0|tanh~1|relu~1")
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6], targets: [Int32] = [2, 3, 4, 5, 6, 0]
        var rng = RNG(seed: 1)
        let (masks, wordMask) = try net.masks(batch: 2, training: true, rng: &rng)
        let h = try Tensor([0.1, -0.2, 0.3, 0.05, 0.0, -0.1], shape: [2, 3])
        // Dropout masks fixed, so the loss is a smooth function of the weights.
        try checkGradients([net.cell.w0, net.cell.ws[1], net.embedding, net.decoderBias], "rnn") {
            let out = try net.forward(tokens: tokens, targets: targets, steps: 3, batch: 2, hidden: h, genotype: g, masks: masks, wordMask: wordMask)
            return try out.loss + RecurrentNetwork.tar(out.raw, batch: 2).scaled(by: 0.5)
        }
    }

    /// GDAS's all-edge step: a node is the mean over its inputs, so with weight k+1 on the chosen
    /// edge of node k and 0 on the others it equals the single-path cell; gradients reach the edge weights.
    @Test func allEdgeStep() throws {
        var rng = RNG(seed: 8)
        let cell = RecurrentCell(input: 3, hidden: 3, nodes: 3, rng: &rng)
        let x = randomTensor([2, 3], seed: 1, requiresGrad: false), h = randomTensor([2, 3], seed: 2, requiresGrad: false)
        #expect(RecurrentCell.edgeCount(nodes: 3) == 6 && RecurrentCell.edgeIndex(node: 2, input: 1) == 4)
        // Genotype: node 1 tanh(0), node 2 relu(1), node 3 sigmoid(1); all-edge ops set to match, other edges weight 0.
        let g = try RecurrentGenotype(parsing: "rnn:tanh~0|relu~1|sigmoid~1")
        var ops = [RecurrentPrimitive](repeating: .identity, count: 6)
        var weights = [Tensor?](repeating: Tensor(scalar: 0), count: 6)
        for (k, e) in g.recurrent.enumerated() {
            let idx = RecurrentCell.edgeIndex(node: k, input: e.input)
            ops[idx] = e.op; weights[idx] = Tensor(scalar: Float(k + 1))
        }
        let single = try cell.step(x, h, g, masks: RecurrentMasks())
        let all = try cell.stepAllEdges(x, h, ops: ops, weights: weights, masks: RecurrentMasks())
        assertClose(all.array, single.array, rtol: 1e-5, atol: 1e-6)
        // Gradients of the straight-through weights and of W_k against central differences.
        let leaves = (0..<6).map { i in Tensor(scalar: 1 + 0.1 * Float(i), requiresGrad: true) }
        try checkGradients(leaves + [cell.ws[2]], "all-edge") {
            try cell.stepAllEdges(x, h, ops: [.tanh, .relu, .sigmoid, .identity, .tanh, .none], weights: leaves, masks: RecurrentMasks()).sum()
        }
        #expect(throws: TensorError.self) { try cell.stepAllEdges(x, h, ops: [.tanh], weights: [nil], masks: RecurrentMasks()) }
    }

    @Test func shapesAndErrors() throws {
        let net = try tiny()
        let g = try RecurrentGenotype(parsing: "rnn:sigmoid~0|tanh~1|relu~1")
        let out = try withNoGrad {
            try net.forward(tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], steps: 2, batch: 2, hidden: net.initialHidden(batch: 2), genotype: g,
                            masks: RecurrentMasks(), wordMask: nil)
        }
        #expect(out.raw.shape == [4, 3] && out.hidden.shape == [2, 3] && out.loss.item > 0)
        #expect(throws: (any Error).self) {
            try net.forward(tokens: [1, 2, 3], targets: [2, 3, 4, 5], steps: 2, batch: 2, hidden: net.initialHidden(batch: 2), genotype: g, masks: RecurrentMasks(), wordMask: nil)
        }
        #expect(throws: SearchSpaceError.self) {
            try net.forward(tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], steps: 2, batch: 2, hidden: net.initialHidden(batch: 2),
                            genotype: RecurrentGenotype.dartsV2, masks: RecurrentMasks(), wordMask: nil)
        }
        #expect(throws: SearchSpaceError.self) { var r = RNG(seed: 0); _ = try RecurrentNetwork(RNNConfig(vocabulary: 5, dropout: 1), rng: &r) }
    }
}
