import Foundation
import NSASSearchSpace
import NSASTensor

/// Median/min/max of a list of seconds.
public struct TimeStats: Codable, Sendable {
    public var median: Double, min: Double, max: Double
    public init(_ xs: [Double]) {
        median = Timing.medianOf(xs); min = xs.min() ?? 0; max = xs.max() ?? 0
    }
}

/// One RandomNAS training step (forward, backward, SGD update) of the C=16, 8-cell supernet on a
/// 64x3x32x32 batch, and inference of a 256 batch, as `shared/bench/torch_darts_step.py` runs
/// them in PyTorch: the same network, the same paths (from an architecture file), no clipping.
public struct SupernetBench {
    public var batch = 64, inferBatch = 256, steps = 20, warmup = 3, inferReps = 10
    public var layers = 8, channels = 16
    public var archs: [Genotype]
    public var seed: UInt64 = 0
    public var log: (String) -> Void = { _ in }

    public init(archs: [Genotype]) { self.archs = archs }

    public struct Result: Codable, Sendable {
        public var trainStep: TimeStats
        public var infer: TimeStats
        public var trainImagesPerSecond: Double
        public var inferImagesPerSecond: Double
        public var supernetParameters: Int
        enum CodingKeys: String, CodingKey {
            case trainStep = "train_step_s", infer = "infer_s", trainImagesPerSecond = "train_images_per_s"
            case inferImagesPerSecond = "infer_images_per_s", supernetParameters = "supernet_params"
        }
    }

    public func run() throws -> Result {
        var rng = RNG(seed: seed)
        let net = try Supernet(CNNConfig(layers: layers, channels: channels), rng: &rng)
        let sgd = SGD(parameters: net.parameters, lr: 0.025, momentum: 0.9, weightDecay: 3e-4)
        let x = Tensor(zeros: [batch, 3, 32, 32])
        x.fill { rng.normal() }
        let labels = (0..<batch).map { _ in rng.int(below: 10) }
        var times: [Double] = []
        for k in 0..<(warmup + steps) {
            let arch = archs[k % archs.count]
            let t0 = Timing.now()
            sgd.zeroGrad()
            let loss = try net.forward(x, arch: arch, ForwardContext(training: true)).crossEntropy(labels: labels)
            try loss.backward()
            sgd.step()
            let dt = Timing.now() - t0
            if k >= warmup { times.append(dt); log(String(format: "train step %d/%d: %.3f s", k - warmup + 1, steps, dt)) }
        }
        let xi = Tensor(zeros: [inferBatch, 3, 32, 32])
        xi.fill { rng.normal() }
        var itimes: [Double] = []
        for k in 0..<(3 + inferReps) {
            let arch = archs[k % archs.count]
            let t0 = Timing.now()
            _ = try withNoGrad { try net.forward(xi, arch: arch, ForwardContext(training: false)) }
            let dt = Timing.now() - t0
            if k >= 3 { itimes.append(dt); log(String(format: "inference %d/%d: %.3f s", k - 2, inferReps, dt)) }
        }
        let train = TimeStats(times), infer = TimeStats(itimes)
        return Result(trainStep: train, infer: infer, trainImagesPerSecond: Double(batch) / train.median,
                      inferImagesPerSecond: Double(inferBatch) / infer.median, supernetParameters: net.parameterCount)
    }

    /// Genotypes from a file, one a line.
    public static func loadArchs(_ path: String) throws -> [Genotype] { try Genotype.list(fromFile: path) }
}
