import ArgumentParser
import Foundation
import NSASCLI
import NSASTensor
import NSASTrain
import NSASBackends

@main
struct NSASReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-replay",
        abstract: "Re-run a recorded run (a search or a stand-alone training) from a checkpoint and compare every later checkpoint.",
        discussion: """
        Any method (randomnas, nsas, gdas, gdas-nsas, wpl, standalone), either space. --from 0 starts from the seed (always
        possible); --from E > 0 needs epoch E's optimizer state,
        which nsas-train keeps in every checkpoint only with --keep-optimizer. Paths must match exactly;
        weights within --tolerance. Exit 1 at the first divergence, which is reported as epoch, step or
        tensor, and the largest difference.
        """)

    @Argument(help: "The run folder.") var directory: String
    @Option(help: "Start after this epoch (0: from the seed).") var from: Int = 0
    @Option(help: "Stop after this epoch (default: the last recorded).") var to: Int?
    @Option(help: "Largest absolute weight difference accepted.") var tolerance: Float = 1e-5
    @Flag var quiet = false
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a finite number of 0 or more, not \(tolerance)") }
    }

    func run() throws {
        var diverged = false
        try runReportingErrors("nsas-replay") {
            let threads = try threading.configure()
            if !quiet { print("nsas-replay: \(threads)") }
            let log = try RunLog(directory: nil, quiet: quiet)
            let (reports, divergence) = try Replay(directory: directory, tolerance: tolerance, log: log).run(from: from, to: to)
            if let divergence {
                print("nsas-replay: diverged at \(divergence)")
                diverged = true
            } else {
                print("nsas-replay: epochs \(from + 1)...\(from + reports.count) reproduce (paths exact, weights within \(tolerance))")
            }
        }
        if diverged { throw ExitCode(1) }
    }
}
