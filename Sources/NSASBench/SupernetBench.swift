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
/// 64x3x32x32 batch, and inference of a 256 batch, as `Tools/bench/torch_darts_step.py` runs
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
        /// FLOPs of a training step, counted as the PyTorch peer counts them: 6 x the forward
        /// multiply-adds (forward 2 x, backward about twice the forward), GFLOP; and the rate achieved.
        public var trainGflopPerStep: TimeStats
        public var trainAchievedGflops: TimeStats
        /// This process's peak resident memory (MB) after the measurement.
        public var peakRSSMB: Double
        enum CodingKeys: String, CodingKey {
            case trainStep = "train_step_s", infer = "infer_s", trainImagesPerSecond = "train_images_per_s"
            case inferImagesPerSecond = "infer_images_per_s", supernetParameters = "supernet_params"
            case trainGflopPerStep = "train_GFLOPs_per_step", trainAchievedGflops = "train_achieved_GFLOP_per_s", peakRSSMB = "peak_rss_mb"
        }
    }

    public func run() throws -> Result {
        var rng = RNG(seed: seed)
        let net = try Supernet(CNNConfig(layers: layers, channels: channels), rng: &rng)
        let sgd = SGD(parameters: net.parameters, lr: 0.025, momentum: 0.9, weightDecay: 3e-4)
        let x = Tensor(zeros: [batch, 3, 32, 32])
        x.fill { rng.normal() }
        let labels = (0..<batch).map { _ in rng.int(below: 10) }
        var times: [Double] = [], flops: [Double] = [], rates: [Double] = []
        for k in 0..<(warmup + steps) {
            let arch = archs[k % archs.count]
            let macs = k >= warmup ? try withNoGrad { try countingMultiplyAdds { _ = try net.forward(x, arch: arch, ForwardContext(training: false)) } } : 0
            let t0 = Timing.now()
            sgd.zeroGrad()
            let loss = try net.forward(x, arch: arch, ForwardContext(training: true)).crossEntropy(labels: labels)
            try loss.backward()
            sgd.step()
            let dt = Timing.now() - t0
            if k >= warmup {
                times.append(dt); flops.append(6 * Double(macs) / 1e9); rates.append(6 * Double(macs) / dt / 1e9)
                log(String(format: "train step %d/%d: %.3f s", k - warmup + 1, steps, dt))
            }
        }
        let xi = Tensor(zeros: [inferBatch, 3, 32, 32])
        xi.fill { rng.normal() }
        var itimes: [Double] = []
        for k in 0..<(3 + inferReps) {
            let arch = archs[k % archs.count]
            let t0 = Timing.now()
            // as nsas-rank evaluates: slices of the batch spread over the workers
            _ = try Tensor.forwardInSlices(xi) { try net.forward($0, arch: arch, ForwardContext(training: false)) }
            let dt = Timing.now() - t0
            if k >= 3 { itimes.append(dt); log(String(format: "inference %d/%d: %.3f s", k - 2, inferReps, dt)) }
        }
        let train = TimeStats(times), infer = TimeStats(itimes)
        return Result(trainStep: train, infer: infer, trainImagesPerSecond: Double(batch) / train.median,
                      inferImagesPerSecond: Double(inferBatch) / infer.median, supernetParameters: net.parameterCount,
                      trainGflopPerStep: TimeStats(flops), trainAchievedGflops: TimeStats(rates), peakRSSMB: Self.peakRSSMB())
    }

    /// This process's peak resident memory in MB (VmHWM; getrusage's ru_maxrss carries a parent's
    /// peak across fork and exec).
    public static func peakRSSMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") else {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_maxrss) / 1024
        }
        return kb / 1024
    }

    /// Genotypes from a file, one a line.
    public static func loadArchs(_ path: String) throws -> [Genotype] { try Genotype.list(fromFile: path) }
}

/// K busy processes competing for the cores while a benchmark measures (`--load K`): shell loops
/// that spin until they are stopped or their parent is gone, so none outlives the benchmark.
public final class BusyLoad {
    var processes: [Process] = []

    public init(_ count: Int) throws {
        for _ in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "while kill -0 \(getpid()) 2>/dev/null; do :; done"]
            p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
    }

    public var count: Int { processes.count }

    public func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
        processes = []
    }

    deinit { stop() }
}
