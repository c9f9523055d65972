import ArgumentParser
import Foundation
import NSASBackends
import NSASBench

@main
struct NSASBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-bench",
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
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard ["all", "blas", "reference"].contains(backend) else {
            throw ValidationError("--backend must be all, blas or reference; got '\(backend)'")
        }
        guard batch >= 1, channels >= 1, budget > 0 else { throw ValidationError("--batch, --channels and --budget must be positive") }
    }

    func run() throws {
        let core = OpenBLASCore.status
        let kinds: [BackendKind] = backend == "all" ? [.blas, .reference] : [BackendKind(rawValue: backend)!]
        let log: (String) -> Void = json ? { _ in } : { print($0); fflush(stdout) }
        log("nsas-bench: \(core.summary), \(Parallel.threads) threads, batch \(batch), C=\(channels)")
        let bench = KernelBench(batch: batch, channels: channels, backends: kinds.map { $0.make() }, budget: budget, log: log)
        let sgemm = bench.rawSgemmGflops()
        log(pad("openblas", 10) + pad("cblas_sgemm", 26) + pad("1024^3", 30) + String(format: "%8.2f GFLOP/s  (the ceiling)", sgemm))
        let figures = bench.run(sgemm: sgemm)
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
            }
        }
    }
}
