import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct StandaloneNetworkTests {
    @Test func forwardWithAuxiliaryHeadAndDropPath() throws {
        var rng = RNG(seed: 1)
        let config = CNNConfig(layers: 6, channels: 4, imageSize: 16)
        let net = try StandaloneNetwork(NamedGenotypes.nsas, config: config, auxiliary: true, rng: &rng)
        let x = randomTensor([2, 3, 16, 16], seed: 2, requiresGrad: false)
        let ctx = ForwardContext(training: true, dropPath: 0.3, rng: RNG(seed: 3))
        let (logits, aux) = try net.forward(x, ctx)
        #expect(logits.shape == [2, 10] && aux?.shape == [2, 10])
        let loss = try logits.crossEntropy(labels: [0, 1]) + aux!.crossEntropy(labels: [0, 1]).scaled(by: 0.4)
        try loss.backward()
        #expect(net.parameters.allSatisfy { $0.grad != nil })
        let (evalLogits, evalAux) = try net.forward(x, ForwardContext(training: false))
        #expect(evalAux == nil && evalLogits.shape == [2, 10])
    }

    @Test func ownWeightsAreFewerThanTheSupernets() throws {
        var rng = RNG(seed: 2)
        let config = CNNConfig(layers: 5, channels: 4, imageSize: 8)
        let net = try StandaloneNetwork(NamedGenotypes.dartsV2, config: config, rng: &rng)
        let sup = try Supernet(config, rng: &rng)
        #expect(net.parameterCount < sup.parameterCount / 4)
        #expect(Set(net.named().map(\.0)).count == net.named().count)
    }
}
