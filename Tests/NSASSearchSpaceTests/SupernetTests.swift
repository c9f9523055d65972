import NSASBackends
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import Testing

@Suite struct SupernetTests {
    static let small = CNNConfig(layers: 5, channels: 4, imageSize: 8)

    func images(_ n: Int, _ c: CNNConfig, seed: UInt64 = 1) -> Tensor {
        randomTensor([n, c.inputChannels, c.imageSize, c.imageSize], seed: seed, requiresGrad: false)
    }

    @Test func shapesThroughReductions() throws {
        var rng = RNG(seed: 1)
        let net = try Supernet(Self.small, rng: &rng)
        let logits = try net.forward(images(3, Self.small), arch: NamedGenotypes.dartsV2, ForwardContext(training: true))
        #expect(logits.shape == [3, 10])
        // Fashion-MNIST sizes: 28 -> 14 -> 7, one input channel.
        let fm = CNNConfig(layers: 3, channels: 4, inputChannels: 1, imageSize: 28)
        let fnet = try Supernet(fm, rng: &rng)
        #expect(try fnet.forward(images(2, fm), arch: NamedGenotypes.nsas, ForwardContext(training: true)).shape == [2, 10])
        #expect(throws: SearchSpaceError.self) { try Supernet(CNNConfig(layers: 8, imageSize: 14), rng: &rng) }
        #expect(throws: TensorError.self) { try net.forward(images(2, fm), arch: NamedGenotypes.dartsV2, ForwardContext(training: false)) }
    }

    @Test func onlyThePathGetsGradients() throws {
        var rng = RNG(seed: 2)
        let net = try Supernet(Self.small, rng: &rng)
        let arch = NamedGenotypes.dartsV1
        let loss = try net.forward(images(4, Self.small), arch: arch, ForwardContext(training: true)).crossEntropy(labels: [1, 2, 3, 4])
        try loss.backward()
        let onPath = Set(net.parameters(of: arch).map { ObjectIdentifier($0) })
        var withGrad = 0
        for p in net.parameters {
            if onPath.contains(ObjectIdentifier(p)) {
                // sep/dil convs and preprocessing all sit on the path; they must have received gradients
                if p.grad != nil { withGrad += 1 }
            } else {
                #expect(p.grad == nil, "an op off the path got a gradient")
            }
        }
        #expect(withGrad == onPath.count)
        #expect(net.parameters.count > onPath.count * 3)
    }

    @Test func batchNormStatisticsMoveOnlyOnThePath() throws {
        var rng = RNG(seed: 3)
        let net = try Supernet(Self.small, rng: &rng)
        let before = Dictionary(uniqueKeysWithValues: net.named().map { ($0.0, $0.1.array) })
        _ = try net.forward(images(4, Self.small), arch: NamedGenotypes.dartsV2, ForwardContext(training: true))
        let after = net.named()
        // DARTS_V2's normal cells never use dil_conv_5x5 on edge 0.
        let untouched = after.filter { $0.0.contains("cells.0.edges.0.dil_conv_5x5") && $0.0.hasSuffix("running_mean") }
        #expect(!untouched.isEmpty)
        for (name, t) in untouched { #expect(t.array == before[name]!) }
        let touched = after.filter { $0.0.contains("cells.0.edges.0.sep_conv_3x3.1.bn.running_mean") }
        #expect(touched.count == 1 && touched[0].1.array != before[touched[0].0]!)
        // Names are unique: they key checkpoints.
        #expect(Set(after.map(\.0)).count == after.count)
    }

    @Test func evaluationIsDeterministicAndNeedsNoTape() throws {
        var rng = RNG(seed: 4)
        let net = try Supernet(Self.small, rng: &rng)
        let x = images(5, Self.small)
        let a = try withNoGrad { try net.forward(x, arch: NamedGenotypes.nsas, ForwardContext(training: false)) }
        let b = try withNoGrad { try net.forward(x, arch: NamedGenotypes.nsas, ForwardContext(training: false)) }
        #expect(a.array == b.array && !a.requiresGrad)
    }

    /// Evaluation in slices of the batch spread over the workers (as rankings evaluate) gives the
    /// whole batch's logits; each slice runs on the caller's backend with no tape, and an error
    /// in one slice reaches the caller.
    @Test func slicedEvaluationMatchesTheWholeBatch() throws {
        var rng = RNG(seed: 4)
        let net = try Supernet(Self.small, rng: &rng)
        let x = images(11, Self.small, seed: 5)
        _ = try net.forward(x, arch: NamedGenotypes.dartsV2, ForwardContext(training: true))   // running statistics move
        let eval = ForwardContext(training: false)
        for backend in BackendKind.allCases {
            try withBackend(backend.make()) {
                let whole = try withNoGrad { try net.forward(x, arch: NamedGenotypes.dartsV2, eval) }
                for slice in [1, 3, 4, 11, 20] {
                    let sliced = try Tensor.forwardInSlices(x, slice: slice) { part in
                        #expect(!Engine.gradEnabled)
                        #expect(type(of: Engine.backend) == type(of: backend.make()), "slice on the caller's backend")
                        return try net.forward(part, arch: NamedGenotypes.dartsV2, eval)
                    }
                    #expect(sliced.shape == [11, 10])
                    assertClose(sliced.array, whole.array, rtol: 1e-5, atol: 1e-5, "\(backend) slices of \(slice)")
                }
            }
        }
        #expect(throws: TensorError.self) {
            try Tensor.forwardInSlices(x, slice: 2) { part in
                if part.ptr[0] == x.ptr[8 * x.count / 11] { throw TensorError.argument(op: "test", message: "slice 4 fails") }
                return try net.forward(part, arch: NamedGenotypes.dartsV2, eval)
            }
        }
        #expect(throws: TensorError.self) { try Tensor.forwardInSlices(x, slice: 0) { $0 } }
    }
}
