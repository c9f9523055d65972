import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import Testing

/// Paths run from a shared prefix (stem and stem-only preprocessing computed once, its gradient
/// sent back once) give the losses and gradients of separate full forward and backward passes.
@Suite struct SharedPrefixTests {
    @Test func sharedPrefixGradientsEqualSeparatePasses() throws {
        var rng = RNG(seed: 3)
        let net = try Supernet(CNNConfig(layers: 4, channels: 4, imageSize: 8), rng: &rng)
        let x = randomTensor([4, 3, 8, 8], seed: 4, requiresGrad: false), y = [0, 1, 2, 3]
        let archs = [NamedGenotypes.dartsV1, NamedGenotypes.nsas, NamedGenotypes.dartsV2]
        let weights: [Float] = [1, 0.5, 0.25]
        let ops = (0..<net.config.edgesPerCell).map { $0 % DARTSCNNSpace.ops.count }
        let none = [Tensor?](repeating: nil, count: net.config.edgesPerCell)
        func grads(shared: Bool) throws -> ([Float], [[Float]]) {
            net.parameters.forEach { $0.zeroGrad() }
            let ctx = ForwardContext(training: true)
            let p = shared ? try net.prefix(x, ctx) : nil
            let leaves = p?.shared()
            var losses: [Float] = []
            for (g, w) in zip(archs, weights) {
                let logits = try leaves.map { try net.forward(prefix: $0, x: nil, arch: g, ctx) } ?? net.forward(x, arch: g, ctx)
                let l = try logits.crossEntropy(labels: y)
                losses.append(l.item)
                try l.scaled(by: w).backward()
            }
            let all = try net.forward(leaves == nil ? x : nil, prefix: leaves, normalOps: ops, reduceOps: ops, normalWeights: none,
                                      reduceWeights: none, ctx).crossEntropy(labels: y)
            losses.append(all.item)
            try all.backward()
            if let p, let leaves { try p.backward(from: leaves) }
            return (losses, net.parameters.map { $0.grad ?? [Float](repeating: 0, count: $0.count) })
        }
        let (l1, g1) = try grads(shared: false), (l2, g2) = try grads(shared: true)
        #expect(l1 == l2)
        #expect(g1.contains { $0.contains { $0 != 0 } })
        for i in g1.indices { assertClose(g2[i], g1[i], rtol: 1e-4, atol: 1e-6, "parameter \(i)") }
    }
}
