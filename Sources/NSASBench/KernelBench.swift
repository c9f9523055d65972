import CBLAS
import Foundation
import NSASBackends

/// One measured figure.
public struct BenchFigure: Codable, Sendable {
    public var kernel: String
    public var shape: String
    public var backend: String
    /// "GFLOP/s" for compute-bound kernels (gemm, dense and 1x1 convs), "GB/s" for the rest.
    public var unit: String
    public var value: Double
    public var medianSeconds: Double
    /// The figure it is compared with in the same run (sgemm for GFLOP/s, memcpy of the same bytes for GB/s).
    public var peer: Double
    /// value / peer.
    public var ratio: Double
    /// Arithmetic rate of a memory-bound kernel that also computes (depthwise convolutions), so
    /// its distance from the CPU's FMA peak shows beside its distance from memcpy.
    public var gflops: Double?

    public init(kernel: String, shape: String, backend: String, unit: String, value: Double, medianSeconds: Double,
                peer: Double, gflops: Double? = nil) {
        self.kernel = kernel; self.shape = shape; self.backend = backend; self.unit = unit
        self.value = value; self.medianSeconds = medianSeconds; self.peer = peer; self.gflops = gflops
        ratio = peer > 0 ? value / peer : 0
    }

    /// The same figure against another peer figure.
    public func withPeer(_ peer: Double) -> BenchFigure {
        BenchFigure(kernel: kernel, shape: shape, backend: backend, unit: unit, value: value, medianSeconds: medianSeconds,
                    peer: peer, gflops: gflops)
    }

    enum CodingKeys: String, CodingKey { case kernel, shape, backend, unit, value, medianSeconds = "median_seconds", peer, ratio, gflops }
}

/// A target of the benchmark and whether this run met it.
public struct BenchTarget: Codable, Sendable {
    public var name: String
    public var required: Double
    public var measured: Double
    public var met: Bool
    /// Why a miss is what it is, where the run can say (the arithmetic rate a compute-heavy
    /// memory-bound kernel would need to meet its target, beside sgemm's ceiling).
    public var note: String?

    public init(name: String, required: Double, measured: Double, met: Bool, note: String? = nil) {
        self.name = name; self.required = required; self.measured = measured; self.met = met; self.note = note
    }
}

/// Everything one run of `nsas-bench` measured.
public struct BenchReport: Codable, Sendable {
    public var openblasCore: String
    public var openblasDetected: String
    public var openblasNote: String
    public var threads: Int
    /// Raw `cblas_sgemm` 1024^3 with OpenBLAS's own threads: the ceiling.
    public var sgemmGflops: Double
    public var figures: [BenchFigure]
    public var targets: [BenchTarget]

    public init(openblasCore: String, openblasDetected: String, openblasNote: String, threads: Int,
                sgemmGflops: Double, figures: [BenchFigure], targets: [BenchTarget]) {
        self.openblasCore = openblasCore; self.openblasDetected = openblasDetected; self.openblasNote = openblasNote
        self.threads = threads; self.sgemmGflops = sgemmGflops; self.figures = figures; self.targets = targets
    }

    enum CodingKeys: String, CodingKey {
        case openblasCore = "openblas_core", openblasDetected = "openblas_detected", openblasNote = "openblas_note"
        case threads, sgemmGflops = "sgemm_gflops", figures, targets
    }
}

/// Left-aligns text in a column (String(format:) does not pad %@ on Linux).
public func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

/// Kernel throughput on the shapes of a DARTS supernet step (C=16, batch 64, 32x32 input).
public struct KernelBench {
    public var batch: Int
    public var channels: Int
    public var backends: [any Backend]
    /// Scales repetition budgets; the tests use a tiny configuration.
    public var budget: Double
    /// Kernel families to measure (`families`); all of them by default.
    public var only: Set<String>
    public var log: (String) -> Void

    /// The families `only` may name, in the order they run.
    public static let families = ["gemm", "conv1x1", "depthwise", "pool", "batchnorm"]

    public init(batch: Int = 64, channels: Int = 16, backends: [any Backend], budget: Double = 0.5,
                only: Set<String> = Set(KernelBench.families), log: @escaping (String) -> Void = { _ in }) {
        self.batch = batch; self.channels = channels; self.backends = backends; self.budget = budget
        self.only = only; self.log = log
    }

    /// The 1x1 convolutions of the step: (Cin, Cout, size). Preprocessing and the pointwise halves of
    /// separable/dilated convs, at each of the three stages.
    public var pointwiseShapes: [(Int, Int, Int)] {
        let c = channels
        return [(3 * c, c, 32), (4 * c, c, 32), (c, c, 32), (8 * c, 2 * c, 16), (2 * c, 2 * c, 16),
                (16 * c, 4 * c, 8), (4 * c, 4 * c, 8)]
    }

    /// Depthwise convolutions: (channels, size, kernel, stride, dilation).
    public var depthwiseShapes: [(Int, Int, Int, Int, Int)] {
        let c = channels
        return [(c, 32, 3, 1, 1), (c, 32, 5, 1, 1), (c, 32, 3, 1, 2), (c, 32, 5, 1, 2), (2 * c, 32, 3, 2, 1),
                (2 * c, 16, 5, 1, 2)]
    }

    func buffer(_ n: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        var s = seed | 1
        for i in 0..<n { s = s &* 6364136223846793005 &+ 1442695040888963407; p[i] = Float(Int64(bitPattern: s >> 11) % 2001) / 1000 - 1 }
        return p
    }

    /// GB/s of memcpy of `bytes` (counted as bytes read plus bytes written), split over the cores like the kernels.
    func copyGBs(bytes: Int) -> Double {
        let n = bytes / 4
        let a = buffer(n, seed: 1), b = buffer(n, seed: 2)
        defer { a.deallocate(); b.deallocate() }
        let t = Timing.median(budget: budget) {
            Parallel.forRanges(n) { r in (b + r.lowerBound).update(from: a + r.lowerBound, count: r.count) }
        }
        return Double(2 * bytes) / t / 1e9
    }

    /// Raw cblas_sgemm n^3 with OpenBLAS's own threads (all cores). `nsas-bench` measures it at the
    /// start and the end of a run and keeps the best sgemm rate it saw (a low ceiling would flatter
    /// the other figures).
    public func rawSgemmGflops(n: Int = 1024) -> Double {
        let a = buffer(n * n, seed: 3), b = buffer(n * n, seed: 4), c = buffer(n * n, seed: 5)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        _ = OpenBLASCore.status
        let before = openblas_get_num_threads()
        openblas_set_num_threads(Int32(Parallel.threads))
        defer { openblas_set_num_threads(before) }
        let t = Timing.median(minReps: 5, budget: budget * 2) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, c, Int32(n))
        }
        return 2 * Double(n * n * n) / t / 1e9
    }

    /// Runs every kernel on every backend. `sgemm` is the ceiling measured in the same run.
    public func run(sgemm ceiling: Double) -> [BenchFigure] {
        var sgemm = ceiling
        var out: [BenchFigure] = []
        let n = batch
        for be in backends {
            // The reference backend is slow by design: fewer repetitions.
            let reps = be.name == "reference" ? 1 : 5
            func time(_ body: () -> Void) -> Double { Timing.median(minReps: reps, maxReps: reps == 1 ? 3 : 200, budget: budget, body) }
            func add(_ kernel: String, _ shape: String, unit: String, value: Double, seconds: Double, peer: Double,
                     flops: Double? = nil) {
                let f = BenchFigure(kernel: kernel, shape: shape, backend: be.name, unit: unit, value: value,
                                    medianSeconds: seconds, peer: peer, gflops: flops.map { $0 / seconds / 1e9 })
                var line = pad(be.name, 10) + pad(kernel, 26) + pad(shape, 30)
                line += String(format: "%8.2f %@  (%3.0f%% of %@)", value, unit, f.ratio * 100, unit == "GB/s" ? "memcpy" : "sgemm")
                if let gf = f.gflops { line += String(format: "  %6.1f GFLOP/s", gf) }
                log(line)
                out.append(f)
            }

            // gemm 1024^3 through the backend's own gemm (the reference gets a smaller one).
            let gn = be.name == "reference" ? 128 : 1024
            if only.contains("gemm") {
                let a = buffer(gn * gn, seed: 6), b = buffer(gn * gn, seed: 7), c = buffer(gn * gn, seed: 8)
                defer { a.deallocate(); b.deallocate(); c.deallocate() }
                let t = time { be.gemm(transA: false, transB: false, m: gn, n: gn, k: gn, alpha: 1, a: a, lda: gn, b: b, ldb: gn, beta: 0, c: c, ldc: gn) }
                let rate = 2 * Double(gn * gn * gn) / t / 1e9
                add("gemm", "\(gn)^3", unit: "GFLOP/s", value: rate, seconds: t, peer: sgemm)
                // The fast backend's gemm runs OpenBLAS's sgemm kernels too (one per core on halves of
                // the product): when it ran faster than the ceiling measured at the start (a noisy
                // start), its rate is the ceiling from here on, so that no ratio is flattered.
                if be.name == "blas" && rate > sgemm * 1.05 {
                    log(String(format: "(the ceiling from here on: %.2f GFLOP/s, OpenBLAS's sgemm kernels in this gemm)", rate))
                    sgemm = rate
                }
            }

            // 1x1 convolutions, forward and both gradients; the total is the target's figure.
            var totalFlops = 0.0, totalSeconds = 0.0
            for (ci, co, s) in pointwiseShapes where only.contains("conv1x1") {
                let g = ConvGeometry(n: n, cIn: ci, h: s, w: s, cOut: co, kH: 1, kW: 1)
                let x = buffer(n * ci * s * s, seed: 9), w = buffer(co * ci, seed: 10), y = buffer(n * co * s * s, seed: 11)
                let dx = buffer(n * ci * s * s, seed: 12), dw = buffer(co * ci, seed: 13)
                defer { [x, w, y, dx, dw].forEach { $0.deallocate() } }
                let shape = "\(n)x\(ci)x\(s)x\(s) -> \(co)"
                let tf = time { be.conv2dForward(g, y: y, x: x, w: w) }
                let td = time { be.conv2dBackwardData(g, dx: dx, dy: y, w: w, x: x) }
                let tw = time { be.conv2dBackwardWeight(g, dw: dw, x: x, dy: y) }
                add("conv1x1 forward", shape, unit: "GFLOP/s", value: g.flops / tf / 1e9, seconds: tf, peer: sgemm)
                add("conv1x1 grad input", shape, unit: "GFLOP/s", value: g.flops / td / 1e9, seconds: td, peer: sgemm)
                add("conv1x1 grad weight", shape, unit: "GFLOP/s", value: g.flops / tw / 1e9, seconds: tw, peer: sgemm)
                totalFlops += 3 * g.flops; totalSeconds += tf + td + tw
            }
            if only.contains("conv1x1") { add("conv1x1 all (fwd+bwd)", "step shapes", unit: "GFLOP/s", value: totalFlops / totalSeconds / 1e9, seconds: totalSeconds, peer: sgemm) }

            // Depthwise convolutions: memory-bound, reported in GB/s of input + output.
            for (c, s, k, stride, dil) in depthwiseShapes where only.contains("depthwise") {
                let g = ConvGeometry(n: n, cIn: c, h: s, w: s, cOut: c, kH: k, kW: k, stride: stride,
                                     padding: dil * (k - 1) / 2, dilation: dil, groups: c)
                let xn = n * c * s * s, yn = n * c * g.outH * g.outW
                let x = buffer(xn, seed: 14), w = buffer(c * k * k, seed: 15), y = buffer(yn, seed: 16)
                let dx = buffer(xn, seed: 17), dw = buffer(c * k * k, seed: 18)
                defer { [x, w, y, dx, dw].forEach { $0.deallocate() } }
                let bytes = 4 * (xn + yn), copy = copyGBs(bytes: bytes)
                let shape = "\(n)x\(c)x\(s)x\(s) k\(k) s\(stride) d\(dil)"
                let tf = time { be.conv2dForward(g, y: y, x: x, w: w) }
                let td = time { be.conv2dBackwardData(g, dx: dx, dy: y, w: w, x: x) }
                let tw = time { be.conv2dBackwardWeight(g, dw: dw, x: x, dy: y) }
                add("depthwise forward", shape, unit: "GB/s", value: Double(bytes) / tf / 1e9, seconds: tf, peer: copy, flops: g.flops)
                add("depthwise grad input", shape, unit: "GB/s", value: Double(bytes + 4 * xn) / td / 1e9, seconds: td, peer: copy, flops: g.flops)
                add("depthwise grad weight", shape, unit: "GB/s", value: Double(bytes) / tw / 1e9, seconds: tw, peer: copy, flops: g.flops)
            }

            // Pools (3x3, pad 1) and batch norm at the first stage's sizes.
            for (kind, stride) in [(PoolKind.max, 1), (.average, 1), (.max, 2), (.average, 2)] where only.contains("pool") {
                let c = channels, s = 32
                let g = PoolGeometry(kind: kind, n: n, c: c, h: s, w: s, kernel: 3, stride: stride, padding: 1)
                let xn = n * c * s * s, yn = n * c * g.outH * g.outW
                let x = buffer(xn, seed: 19), y = buffer(yn, seed: 20), dx = buffer(xn, seed: 21)
                defer { [x, y, dx].forEach { $0.deallocate() } }
                let bytes = 4 * (xn + yn), copy = copyGBs(bytes: bytes)
                let shape = "\(n)x\(c)x\(s)x\(s) 3x3 s\(stride)"
                let tf = time { be.pool2dForward(g, y: y, x: x) }
                let tb = time { be.pool2dBackward(g, dx: dx, dy: y, x: x) }
                add("\(kind.rawValue) pool forward", shape, unit: "GB/s", value: Double(bytes) / tf / 1e9, seconds: tf, peer: copy)
                add("\(kind.rawValue) pool backward", shape, unit: "GB/s", value: Double(bytes + 4 * xn) / tb / 1e9, seconds: tb, peer: copy)
            }
            if only.contains("batchnorm") {
                let c = channels, s = 32 * 32, xn = n * c * s
                let x = buffer(xn, seed: 22), y = buffer(xn, seed: 23), dx = buffer(xn, seed: 24)
                let mean = buffer(c, seed: 25), variance = buffer(c, seed: 26), scale = buffer(c, seed: 27), dg = buffer(c, seed: 28)
                defer { [x, y, dx, mean, variance, scale, dg].forEach { $0.deallocate() } }
                let bytes = 4 * 2 * xn, copy = copyGBs(bytes: bytes)
                let shape = "\(n)x\(c)x32x32"
                // Forward: statistics (reads x twice) + normalise (reads x, writes y): 4 passes.
                let tf = time {
                    be.channelMoments(n: n, c: c, s: s, mean: mean, variance: variance, x: x)
                    be.channelAffine(n: n, c: c, s: s, y: y, x: x, scale: scale, shift: variance, mean: mean)
                }
                let tb = time {
                    be.batchNormBackward(n: n, c: c, s: s, dx: dx, dgamma: dg, dbeta: nil, dy: y, x: x, mean: mean, invStd: scale, gamma: nil)
                }
                add("batchnorm forward", shape, unit: "GB/s", value: Double(4 * 4 * xn) / tf / 1e9, seconds: tf, peer: copy)
                add("batchnorm backward", shape, unit: "GB/s", value: Double(4 * 5 * xn) / tb / 1e9, seconds: tb, peer: copy)
            }
        }
        return out
    }

    /// The targets, judged on the fast backend's figures.
    public static func targets(sgemm: Double, figures: [BenchFigure], backend: String = "blas") -> [BenchTarget] {
        var t = [BenchTarget(name: "sgemm 1024^3 GFLOP/s", required: 150, measured: sgemm, met: sgemm >= 150)]
        let mine = figures.filter { $0.backend == backend }
        if let all = mine.first(where: { $0.kernel == "conv1x1 all (fwd+bwd)" }) {
            t.append(BenchTarget(name: "conv1x1 (all step shapes, fwd+bwd) / sgemm", required: 0.6, measured: all.ratio, met: all.ratio >= 0.6))
        }
        for family in ["depthwise", "pool", "batchnorm"] {
            let fs = mine.filter { $0.kernel.contains(family) && $0.unit == "GB/s" }
            guard let worst = fs.min(by: { $0.ratio < $1.ratio }) else { continue }
            var note: String?
            if worst.ratio < 0.3, let gf = worst.gflops, worst.ratio > 0 {
                let needed = gf * 0.3 / worst.ratio
                note = String(format: "worst: %@ %@ at %.0f GFLOP/s; 0.30 of memcpy needs %.0f GFLOP/s (sgemm's ceiling in this run: %.0f)",
                              worst.kernel, worst.shape, gf, needed, sgemm)
            }
            t.append(BenchTarget(name: "\(family) worst / memcpy", required: 0.3, measured: worst.ratio, met: worst.ratio >= 0.3, note: note))
        }
        return t
    }
}
