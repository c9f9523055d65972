import NSASSearchSpace
import NSASTensor

/// One RandomNAS step of the DARTS RNN supernet (hidden and embedding 300, batch 256, bptt 35,
/// a PTB-sized vocabulary of 10,000): forward over the window, TAR, backward, clip, SGD.
/// Tokens per second = batch * bptt / median step time.
public struct RNNBench {
    public var hidden = 300, batch = 256, bptt = 35, vocabulary = 10_000, steps = 10, warmup = 2
    public var seed: UInt64 = 0
    public var log: (String) -> Void = { _ in }
    public init() {}

    public struct Result: Codable, Sendable {
        public var trainStep: TimeStats
        public var tokensPerSecond: Double
        public var parameters: Int
    }

    public func run() throws -> Result {
        var rng = RNG(seed: seed)
        let net = try RecurrentNetwork(RNNConfig(vocabulary: vocabulary, hidden: hidden), rng: &rng)
        let sgd = SGD(parameters: net.parameters, lr: 20, momentum: 0, weightDecay: 5e-7)
        let tokens = (0..<(batch * bptt)).map { _ in Int32(rng.int(below: vocabulary)) }
        let targets = (0..<(batch * bptt)).map { _ in Int32(rng.int(below: vocabulary)) }
        var h = net.initialHidden(batch: batch)
        var times: [Double] = []
        for k in 0..<(warmup + steps) {
            let g = RecurrentGenotype.sample(&rng)
            let t0 = Timing.now()
            let (masks, wordMask) = try net.masks(batch: batch, training: true, rng: &rng)
            sgd.zeroGrad()
            let out = try net.forward(tokens: tokens, targets: targets, steps: bptt, batch: batch, hidden: h, genotype: g, masks: masks, wordMask: wordMask)
            try (out.loss + RecurrentNetwork.tar(out.raw, batch: batch).scaled(by: 1e-3)).backward()
            clipGradNorm(net.parameters, maxNorm: 0.25)
            sgd.step()
            h = out.hidden.detach()
            let dt = Timing.now() - t0
            if k >= warmup { times.append(dt); log(String(format: "RNN train step %d/%d: %.3f s", k - warmup + 1, steps, dt)) }
        }
        let t = TimeStats(times)
        return Result(trainStep: t, tokensPerSecond: Double(batch * bptt) / t.median, parameters: net.parameterCount)
    }
}
