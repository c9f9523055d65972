import ArgumentParser
import Foundation
import NSASBackends
import NSASBench
import NSASCLI
import NSASRun
import NSASSearchSpace
import NSASTensor

@main
struct NSASBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-bench",
        abstract: "Benchmarks: kernels (default) and the supernet training step.",
        subcommands: [Kernels.self, SupernetStep.self, NSASStep.self, RNNStep.self],
        defaultSubcommand: Kernels.self)
}

/// Runs a peer benchmark script and returns the JSON object of its last output line.
func runPeerScript(python: String, script: String, arguments: [String]) throws -> [String: Any] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [script] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0,
          let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
          let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw ValidationError("the peer \(script) failed (exit \(p.terminationStatus)); run it by hand to see why")
    }
    return obj
}

struct NSASStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas",
        abstract: "An NSAS step (the current path and M archived ones on one batch) against a RandomNAS step, as nsas-train runs them.",
        discussion: """
        Two searches of the default DARTS CNN search (--data, 8 cells, C = 16, batch 64), built as nsas-train builds
        them with one seed, train an epoch of --steps steps each in turn, --rounds times, in this process. Both
        sample the same current paths; an NSAS step adds M archived ones. The ratio is the mean NSAS step with a
        full archive over the mean RandomNAS step, every round pooled (the first 2 steps of each epoch warm up;
        means, since the archived paths' cost varies with their ops); each round's own ratio shows the spread.
        With nothing shared between the paths the ratio would be about 1 + M. Run with -c release.
        """)
    @Option(help: "NSAS archive size M.") var members = 4
    @Option(help: "The base method: randomnas (NSAS is nsas) or gdas (gdas-nsas).") var base = "randomnas"
    @Option(help: "Steps per epoch of each search.") var steps = 40
    @Option(help: "Rounds of RandomNAS-then-NSAS epochs.") var rounds = 3
    @Option(help: "Data set, as nsas-train's --data.") var data = "default"
    @Option(help: "How the full archive is renewed, as nsas-train's --archive-policy (novelty, random, fifo).") var archivePolicy: ArchivePolicy = .novelty
    @Flag(help: "Also time NSAS without ops shared between its paths (only the stem and the preprocessing shared), in the same pairs.")
    var compareUnshared = false
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (1...64).contains(members) else { throw ValidationError("--members must be between 1 and 64") }
        guard (members + 3...100_000).contains(steps) else { throw ValidationError("--steps must be between --members + 3 and 100000") }
        guard (1...50).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 50") }
        guard ["randomnas", "gdas"].contains(base) else { throw ValidationError("--base must be randomnas or gdas, not \(base)") }
    }

    func run() throws {
        try runReportingErrors("nsas-bench nsas") {
            let (be, line) = try backend.make()
            var bench = NSASStepBench()
            bench.steps = steps; bench.rounds = rounds; bench.members = members; bench.data = data; bench.compareUnshared = compareUnshared
            bench.gdas = base == "gdas"
            let policy = archivePolicy
            bench.adjust = { $0.nsas?.policy = policy }
            if !json {
                print("nsas-bench nsas: \(line); M = \(members) (\(archivePolicy.rawValue) archive), \(steps) steps a round, \(rounds) rounds")
                bench.log = { print($0); fflush(stdout) }
            }
            let r = try withBackend(be) { try bench.run() }
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(r), as: UTF8.self))
            } else {
                let (b, n) = base == "gdas" ? ("GDAS", "GDAS-NSAS") : ("RandomNAS", "NSAS")
                print(String(format: "%@ step (M = %d) / %@ step: %.2fx (rounds %@); mean %@ step %.3f s, %@ %.3f s",
                             n, members, b, r.ratio, r.rounds.map { String(format: "%.2f", $0.ratio) }.joined(separator: ", "),
                             b, r.baseStep, n, r.nsasStep)
                      + (base == "gdas" ? "" : String(format: "; %g paths with nothing shared", r.passes)))
                if let u = r.unsharedStep, let ur = r.unsharedRatio {
                    print(String(format: "without ops shared between the paths: %.2fx (%.3f s); sharing them saves %.1f%% of a step",
                                 ur, u, 100 * (1 - r.nsasStep / u)))
                }
            }
        }
    }
}

struct RNNStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn",
        abstract: "One RandomNAS step of the DARTS RNN supernet (hidden/embedding 300, batch 256, bptt 35, vocabulary 10,000): tokens/s.")
    @Option var steps: Int = 10
    @Option var batch: Int = 256
    @Option var bptt: Int = 35
    @Option var hidden: Int = 300
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Peer: a Python with PyTorch, to run --peer-script in the same run.") var peerPython: String?
    @Option(help: "Peer: the PyTorch RNN step script (Tools/bench/torch_rnn_step.py).") var peerScript: String?

    func run() throws {
        try runReportingErrors("nsas-bench rnn") {
            let (be, line) = try backend.make()
            var bench = RNNBench()
            bench.steps = steps; bench.batch = batch; bench.bptt = bptt; bench.hidden = hidden
            if !json { print("nsas-bench rnn: \(line)"); bench.log = { print($0); fflush(stdout) } }
            let r = try withBackend(be) { try bench.run() }
            var peer: [String: Any]? = nil
            if let peerPython, let peerScript {
                if !json { print("running the PyTorch peer on the same step ...") }
                peer = try runPeerScript(python: peerPython, script: peerScript,
                                         arguments: ["--threads", "\(Parallel.threads)", "--steps", "\(steps)", "--batch", "\(batch)", "--bptt", "\(bptt)", "--hidden", "\(hidden)"])
            }
            let peerStep = ((peer?["train_step_s"] as? [String: Any])?["median"] as? NSNumber)?.doubleValue
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                var obj = try JSONSerialization.jsonObject(with: enc.encode(r)) as! [String: Any]
                if let peer { obj["peer"] = peer; if let peerStep { obj["train_ratio_to_peer"] = r.trainStep.median / peerStep } }
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "RNN train step (batch %d x bptt %d): median %.3f s (min %.3f, max %.3f), %.0f tokens/s, %d parameters",
                             batch, bptt, r.trainStep.median, r.trainStep.min, r.trainStep.max, r.tokensPerSecond, r.parameters))
                if let peerStep {
                    print(String(format: "PyTorch %@: %.3f s per step, %.0f tokens/s; ours / PyTorch: %.2fx", (peer?["torch"] as? String) ?? "?",
                                 peerStep, Double(batch * bptt) / peerStep, r.trainStep.median / peerStep))
                }
            }
        }
    }
}

struct SupernetStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supernet",
        abstract: "One RandomNAS training step of the C=16, 8-cell supernet (batch 64, 32x32) and inference of a 256 batch.",
        discussion: """
        The same work as Tools/bench/torch_darts_step.py: pass the same --archs file to both (Tools/bench/archs.txt).
        Medians over --steps steps after 3 warm-up steps. Prints the FLOPs of a step (6 x the forward multiply-adds,
        as the peer counts), the rate achieved as a fraction of cblas_sgemm measured in the same run, and peak memory.
        --load K runs K busy processes for the whole measurement, the peer's included. --rounds R measures
        ours and the peer R times in turn and prints the medians of the R ratios (steadier on a shared machine).
        Run with -c release.
        """)

    @Option(help: "Architectures to train, one genotype a line (default: random samples).") var archs: String?
    @Option var steps: Int = 20
    @Option var inferReps: Int = 10
    @Option var batch: Int = 64
    @Option var inferBatch: Int = 256
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Peer: a Python with PyTorch, to run --peer-script in the same run (e.g. /tmp/torch-venv/bin/python).")
    var peerPython: String?
    @Option(help: "Peer: the PyTorch step script (Tools/bench/torch_darts_step.py); run with --channels-last and this run's thread count.")
    var peerScript: String?
    @Option(help: "Busy processes competing for the cores during the measurement (and the peer's).") var load: Int = 0
    @Option(help: "Rounds of ours-then-the-peer; the ratios printed are the medians of the rounds' ratios.") var rounds: Int = 1

    func validate() throws {
        guard (0...64).contains(load) else { throw ValidationError("--load must be between 0 and 64") }
        guard (1...50).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 50") }
        guard steps >= 1, inferReps >= 1, batch >= 1, inferBatch >= 1 else { throw ValidationError("--steps, --infer-reps, --batch and --infer-batch must be positive") }
    }

    /// Runs the PyTorch peer on the same architecture file; its JSON object.
    func runPeer() throws -> [String: Any]? {
        guard let peerPython, let peerScript else { return nil }
        var args = ["--threads", "\(Parallel.threads)", "--channels-last", "--steps", "\(steps)",
                    "--infer-reps", "\(inferReps)", "--batch", "\(batch)", "--infer-batch", "\(inferBatch)"]
        if let archs { args += ["--archs", archs] }
        return try runPeerScript(python: peerPython, script: peerScript, arguments: args)
    }

    func run() throws {
        try runReportingErrors("nsas-bench supernet") {
            let list: [Genotype]
            if let archs { list = try SupernetBench.loadArchs(archs) } else {
                var rng = RNG(seed: 0)
                list = (0..<10).map { _ in ArchitectureSampler().sample(&rng) }
            }
            let (be, line) = try backend.make()
            let sgemm = KernelBench(batch: 64, channels: 16, backends: [], budget: 0.5, only: [], log: { _ in }).rawSgemmGflops()
            let busy = try BusyLoad(load)
            defer { busy.stop() }
            var bench = SupernetBench(archs: list)
            bench.steps = steps; bench.inferReps = inferReps; bench.batch = batch; bench.inferBatch = inferBatch
            if !json {
                print("nsas-bench supernet: \(line)" + (load > 0 ? "; \(load) busy competing process\(load == 1 ? "" : "es")" : ""))
                print(String(format: "cblas_sgemm 1024^3 in this run: %.0f GFLOP/s", sgemm))
                bench.log = { print($0); fflush(stdout) }
            }
            // Each round measures ours, then the peer; with several rounds the ratios are the
            // medians of the rounds' ratios, so that a slow spell of a shared machine falls on
            // both sides of a ratio instead of on one.
            var results: [SupernetBench.Result] = [], peers: [[String: Any]] = []
            for round in 1...rounds {
                if rounds > 1 && !json { print("round \(round)/\(rounds)") }
                results.append(try withBackend(be) { try bench.run() })
                if !json && peerPython != nil { print("running the PyTorch peer (channels-last) on the same paths ...") }
                if let peer = try runPeer() { peers.append(peer) }
                if rounds > 1 && !json, let peer = peers.last, let pt = Self.peerMedian(peer, "train_step_s"),
                   let pi = Self.peerMedian(peer, "infer_fwd_s") {
                    let r = results[results.count - 1]
                    print(String(format: "round %d: train %.3f s against %.3f s (%.2fx), inference %.3f s against %.3f s (%.2fx)",
                                 round, r.trainStep.median, pt, r.trainStep.median / pt, r.infer.median, pi, r.infer.median / pi))
                }
            }
            busy.stop()
            let r = results[results.count - 1]
            let trainMedian = Timing.medianOf(results.map(\.trainStep.median)), inferMedian = Timing.medianOf(results.map(\.infer.median))
            let peerTrains = peers.compactMap { Self.peerMedian($0, "train_step_s") }, peerInfers = peers.compactMap { Self.peerMedian($0, "infer_fwd_s") }
            let paired = peerTrains.count == results.count && peerInfers.count == results.count
            let trainRatios = paired ? zip(results, peerTrains).map { $0.trainStep.median / $1 } : []
            let inferRatios = paired ? zip(results, peerInfers).map { $0.infer.median / $1 } : []
            let peerRSS = peers.compactMap { ($0["peak_rss_mb"] as? NSNumber)?.doubleValue }.max()
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                var obj = try JSONSerialization.jsonObject(with: enc.encode(r)) as! [String: Any]
                obj["sgemm_gflops"] = sgemm; obj["load"] = load; obj["threads"] = Parallel.threads
                obj["train_fraction_of_sgemm"] = r.trainGflopPerStep.median / trainMedian / sgemm
                if rounds > 1 {
                    // the top-level figures are the last round's; these are over all rounds
                    obj["rounds"] = try results.map { try JSONSerialization.jsonObject(with: enc.encode($0)) }
                    obj["peer_rounds"] = peers
                    obj["train_step_median_of_rounds_s"] = trainMedian; obj["infer_median_of_rounds_s"] = inferMedian
                }
                if let peer = peers.last {
                    obj["peer"] = peer
                    if paired {
                        obj["train_ratio_to_peer"] = Timing.medianOf(trainRatios)
                        obj["infer_ratio_to_peer"] = Timing.medianOf(inferRatios)
                    }
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                let over = rounds > 1 ? String(format: " (median of %d rounds' medians)", rounds) : ""
                print(String(format: "train step: median %.3f s%@ (min %.3f, max %.3f), %.0f images/s", trainMedian, over,
                             results.map(\.trainStep.min).min()!, results.map(\.trainStep.max).max()!, Double(batch) / trainMedian))
                print(String(format: "inference (batch %d): median %.3f s%@ (min %.3f, max %.3f), %.0f images/s", inferBatch, inferMedian, over,
                             results.map(\.infer.min).min()!, results.map(\.infer.max).max()!, Double(inferBatch) / inferMedian))
                print(String(format: "a step: %.1f GFLOP (6 x forward multiply-adds); %.1f GFLOP/s achieved, %.2f of sgemm's %.0f; peak RSS %.0f MB%@",
                             r.trainGflopPerStep.median, r.trainGflopPerStep.median / trainMedian, r.trainGflopPerStep.median / trainMedian / sgemm,
                             sgemm, r.peakRSSMB, peerRSS.map { String(format: " (PyTorch %.0f MB)", $0) } ?? ""))
                if paired, let peer = peers.last {
                    let range = { (xs: [Double]) in rounds > 1 ? String(format: " (rounds %.2f-%.2f)", xs.min()!, xs.max()!) : "" }
                    print(String(format: "PyTorch %@ channels-last: train step %.3f s, inference %.3f s; ours / PyTorch: train %.2fx%@, inference %.2fx%@",
                                 (peer["torch"] as? String) ?? "?", Timing.medianOf(peerTrains), Timing.medianOf(peerInfers),
                                 Timing.medianOf(trainRatios), range(trainRatios), Timing.medianOf(inferRatios), range(inferRatios)))
                }
            }
        }
    }

    static func peerMedian(_ peer: [String: Any], _ key: String) -> Double? {
        ((peer[key] as? [String: Any])?["median"] as? NSNumber)?.doubleValue
    }
}

struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Kernel throughput on the shapes of a DARTS supernet step, beside raw OpenBLAS sgemm and memcpy.",
        discussion: """
        Figures are medians. GFLOP/s figures are compared with cblas_sgemm 1024^3 measured in the same run;
        GB/s figures (memory-bound kernels) with a memcpy of the same bytes. Run with -c release.
        """)

    @Option(help: "Backends to measure: all, blas or reference.")
    var backend: String = "all"
    @Option(help: "Batch size of the step.")
    var batch: Int = 64
    @Option(help: "Initial channels C of the supernet.")
    var channels: Int = 16
    @Option(help: "Seconds spent on each figure (more gives steadier medians).")
    var budget: Double = 0.5
    @Option(help: "Kernel families to measure, comma-separated: gemm, conv1x1, depthwise, pool, batchnorm (default: all).")
    var only: String?
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @OptionGroup var threading: ThreadOptions

    var families: Set<String> {
        guard let only else { return Set(KernelBench.families) }
        return Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    func validate() throws {
        if let bad = families.first(where: { !KernelBench.families.contains($0) }) {
            throw ValidationError("--only: unknown kernel family '\(bad)'; the families are \(KernelBench.families.joined(separator: ", "))")
        }
        guard ["all", "blas", "reference"].contains(backend) else {
            throw ValidationError("--backend must be all, blas or reference; got '\(backend)'")
        }
        guard batch >= 1, channels >= 1, budget > 0 else { throw ValidationError("--batch, --channels and --budget must be positive") }
    }

    func run() throws {
        let threads = try threading.configure()
        let core = OpenBLASCore.status
        let kinds: [BackendKind] = backend == "all" ? [.blas, .reference] : [BackendKind(rawValue: backend)!]
        let log: (String) -> Void = json ? { _ in } : { print($0); fflush(stdout) }
        log("nsas-bench: \(core.summary), \(threads), batch \(batch), C=\(channels)")
        let bench = KernelBench(batch: batch, channels: channels, backends: kinds.map { $0.make() }, budget: budget,
                                only: families, log: log)
        let first = bench.rawSgemmGflops()
        log(pad("openblas", 10) + pad("cblas_sgemm", 26) + pad("1024^3", 30) + String(format: "%8.2f GFLOP/s  (the ceiling)", first))
        var figures = bench.run(sgemm: first)
        // The ceiling again at the end: when the machine was slow at the start, the first figure
        // would flatter every ratio; the targets use the best sgemm rate of the run (start, end,
        // or the fast backend's gemm, which runs OpenBLAS's sgemm kernels).
        let last = bench.rawSgemmGflops()
        let backendGemm = figures.first { $0.backend == "blas" && $0.kernel == "gemm" }?.value ?? 0
        let sgemm = max(first, last, backendGemm)
        if sgemm > first * 1.05 {
            log(pad("openblas", 10) + pad("cblas_sgemm", 26) + pad("1024^3 (again)", 30)
                + String(format: "%8.2f GFLOP/s  (the ceiling for the targets: %.2f, the best sgemm rate of the run)", last, sgemm))
            figures = figures.map { $0.unit == "GFLOP/s" ? $0.withPeer(sgemm) : $0 }
        }
        let targets = KernelBench.targets(sgemm: sgemm, figures: figures)
        if json {
            let report = BenchReport(openblasCore: core.inUse, openblasDetected: core.detected, openblasNote: core.note,
                                     threads: Parallel.threads, sgemmGflops: sgemm, figures: figures, targets: targets)
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print("\ntargets (blas backend, medians of this run):")
            for t in targets {
                print("  " + (t.met ? "met  " : "MISS ") + pad(t.name, 46) + String(format: "measured %.2f, target %.2f", t.measured, t.required))
                if let note = t.note { print("       " + note) }
            }
        }
    }
}
