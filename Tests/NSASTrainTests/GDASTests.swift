import Foundation
import NSASData
import NSASRun
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import NSASTrain
import Testing

@Suite struct GDASTests {
    /// The tape's straight-through gradient of the logits is dL/dw_e (w_e: the weight of edge
    /// e's chosen op, value 1) times d p_e[chosen] / d alpha, the second factor checked by central
    /// differences (softmax is smooth; the network, with its ReLUs and max pools, is not, so dL/dw
    /// comes from the tape, whose ops are checked numerically one by one elsewhere).
    @Test func straightThroughGradientMatchesANumericalEstimate() throws {
        var rng = RNG(seed: 1)
        let net = try Supernet(CNNConfig(layers: 3, channels: 4, imageSize: 8), rng: &rng)
        let x = randomTensor([4, 3, 8, 8], seed: 2, requiresGrad: false), y = [0, 1, 2, 3]
        let edges = net.config.edgesPerCell, ops = DARTSCNNSpace.ops.count
        let alpha = randomTensor([edges, ops], seed: 3, lo: -1, hi: 1)
        let alphaReduce = randomTensor([edges, ops], seed: 4, lo: -1, hi: 1, requiresGrad: false)
        let tau: Float = 0.7
        let noiseRNG = RNG(seed: 5)
        var r1 = noiseRNG
        let path = try Gumbel.sample(alpha, tau: tau, rng: &r1)
        let reducePath = try Gumbel.sample(alphaReduce, tau: tau, rng: &r1)
        #expect(path.weights.allSatisfy { abs($0.item - 1) < 1e-6 })     // the forward sees weight 1
        func loss(_ weights: [Tensor]) throws -> Tensor {
            try net.forward(x, normalOps: path.ops, reduceOps: reducePath.ops, normalWeights: weights,
                            reduceWeights: reducePath.weights.map { _ in nil }, ForwardContext(training: true)).crossEntropy(labels: y)
        }
        try loss(path.weights).backward()
        let tape = try #require(alpha.grad)
        // dL/dw_e with the weights as leaves of value 1.
        let leaves = try (0..<edges).map { _ in try Tensor([1], shape: [1], requiresGrad: true) }
        try loss(leaves).backward()
        let dLdw = leaves.map { $0.grad?[0] ?? 0 }
        #expect(dLdw.contains { abs($0) > 1e-4 })
        // d p_e[chosen] / d alpha by central differences, with the same noise, in Double (an
        // independent softmax: float32 would lose the small differences of probabilities near 1).
        var r = noiseRNG
        let noise = (0..<(edges * ops)).map { _ in Double(r.gumbel()) }
        func prob(_ a: [Double], _ e: Int, _ k: Int) -> Double {
            let row = (0..<ops).map { a[e * ops + $0] }
            let m = row.max()!, lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            let z = (0..<ops).map { (row[$0] - lse + noise[e * ops + $0]) / Double(tau) }
            let zm = z.max()!
            return exp(z[k] - zm) / z.map { exp($0 - zm) }.reduce(0, +)
        }
        let a0 = alpha.array.map(Double.init), eps = 1e-5
        var expected = [Float](repeating: 0, count: a0.count)
        for i in a0.indices {
            var up = a0, down = a0
            up[i] += eps; down[i] -= eps
            let e = i / ops, k = path.ops[e]
            expected[i] = dLdw[e] * Float((prob(up, e, k) - prob(down, e, k)) / (2 * eps))
        }
        assertClose(tape, expected, rtol: 1e-3, atol: 1e-7, "d loss / d alpha")
        #expect(tape.contains { abs($0) > 1e-4 })
    }

    @Test func finalCellTakesTheTwoStrongestEdgesOfEachNode() throws {
        let edges = 14, ops = DARTSCNNSpace.ops.count
        var a = [Float](repeating: 0, count: edges * ops)
        func set(_ node: Int, _ input: Int, _ op: Primitive, _ v: Float) {
            a[CNNConfig.edgeIndex(node: node, input: input) * ops + DARTSCNNSpace.ops.firstIndex(of: op)!] = v
        }
        set(0, 0, .sepConv3x3, 3); set(0, 1, .none, 9); set(0, 1, .maxPool3x3, 2)     // none is never chosen
        set(1, 2, .dilConv5x5, 4); set(1, 0, .skipConnect, 3); set(1, 1, .avgPool3x3, 1)
        let t = try Tensor(a, shape: [edges, ops])
        let cell = try DARTSCNNSpace.genotype(logits: [t, t], options: DARTSCNNOptions()).normal
        #expect(Array(cell[0..<4]) == [Edge(.sepConv3x3, 0), Edge(.maxPool3x3, 1), Edge(.skipConnect, 0), Edge(.dilConv5x5, 2)])
        #expect(!cell.contains { $0.op == .none })
    }

    @Test func shortSearchLowersTheLossMovesTheLogitsAndDecaysTau() throws {
        var c = tinyCNN(.gdas, epochs: 2, steps: 8, batch: 32)
        c.optimizer.lr = 0.05
        let s = try Search.make(c, log: quietLog())
        let gdas = s.methodObject as! GDAS<DARTSCNNSpace>
        #expect(gdas.tau(epoch: 0) == 10 && abs(gdas.tau(epoch: 1) - 0.1) < 1e-6)
        #expect(gdas.alphas.map(\.shape) == [[14, 8], [14, 8]])
        let before = gdas.alphas[0].array
        let before0 = try probeLoss(supernet(try Search.make(c, log: quietLog())), NamedGenotypes.dartsV2)
        let r = try s.run(startEpoch: 0)
        #expect(gdas.alphas[0].array != before)                          // Adam moved the logits
        #expect(r.epochs.map(\.tau) == [10, gdas.tau(epoch: 1)] && r.epochs[1].genotype == r.canonical)
        #expect(try Genotype(parsing: r.genotype).canonical == r.canonical)
        #expect(s.pathTexts.allSatisfy { $0.hasPrefix(EdgeOps.prefix) })
        #expect(try probeLoss(supernet(s), NamedGenotypes.dartsV2) < before0)
    }

    @Test func gdasPathDistance() {
        let a = EdgeOps([Array(repeating: 4, count: 14), Array(repeating: 1, count: 14)])
        var b = a
        b.cells[0][3] = 5; b.cells[1][0] = 2
        #expect(a.distance(to: a) == 0 && abs(a.distance(to: b) - 2.0 / 28) < 1e-12)
    }

    @Test func rnnGDASHasOneLogitTensorAndDecodesItsGenotype() throws {
        let s = try Search.make(tinyRNN(.gdas, steps: 4), log: quietLog())
        let gdas = s.methodObject as! GDAS<DARTSRNNSpace>
        #expect(gdas.alphas.map(\.shape) == [[10, 5]])                  // 1 + 2 + 3 + 4 edges, 5 ops
        let r = try s.run(startEpoch: 0)
        #expect(r.value.isFinite && r.score == .perplexity)
        #expect(try RecurrentGenotype(parsing: r.genotype).nodes == 4)
        #expect(s.pathTexts.allSatisfy { $0.hasPrefix("all-edges rnn:") })
    }
}
