import Foundation
import NSASRun
import NSASSearchSpace
import NSASTrain

/// An NSAS step against a RandomNAS step, as `nsas-train` runs them: two searches of the default
/// DARTS CNN search (the embedded data, 8 cells, C = 16, batch 64) built by the same code as the
/// command, with the same seed, trained an epoch of `steps` steps each in turn, `rounds` times, in
/// one process. Both sample the same current paths (NSAS draws its archive from a stream of its
/// own); an NSAS step adds M archived ones, whose cost varies with the ops they hold, so figures
/// are mean step times (total time over steps: what a run takes), NSAS's over the steps with a
/// full archive (1 + M path passes). The result pools every round; the rounds' own ratios show
/// the spread.
public struct NSASStepBench {
    public var steps = 40, rounds = 3, members = 4
    public var data = "default"
    /// Changes to both searches' settings after the defaults (tests run a smaller network).
    public var adjust: (inout RunConfig) -> Void = { _ in }
    public var log: (String) -> Void = { _ in }

    public init() {}

    public struct Round: Codable, Sendable {
        /// Mean step times and their ratio; the steps each mean is over.
        public var randomnasStep: Double, nsasStep: Double, ratio: Double
        public var randomnasSteps: Int, nsasSteps: Int
        enum CodingKeys: String, CodingKey {
            case randomnasStep = "randomnas_step_s", nsasStep = "nsas_step_s", ratio, randomnasSteps = "randomnas_steps", nsasSteps = "nsas_steps"
        }
    }

    public struct Result: Codable, Sendable {
        public var rounds: [Round]
        /// Mean NSAS step over mean RandomNAS step, every round's steps pooled; those means.
        public var ratio: Double, randomnasStep: Double, nsasStep: Double
        /// Path passes of an NSAS step with a full archive (1 + M): the ratio with nothing shared.
        public var passes: Double
        enum CodingKeys: String, CodingKey {
            case rounds, ratio, randomnasStep = "randomnas_step_s", nsasStep = "nsas_step_s", passes = "nsas_path_passes"
        }
    }

    func search(_ method: Method) throws -> any AnySearch {
        var c = try RunConfig.defaults(space: .dartsCNN, method: method)
        c.data = data; c.maxSteps = steps; c.epochs = 1
        if method.usesNSAS { c.nsas?.archiveSize = members }
        adjust(&c)
        return try Search.make(c, log: try RunLog(directory: nil, quiet: true))
    }

    public func run() throws -> Result {
        guard steps > members + 2, rounds >= 1, members >= 1 else {
            throw RunError.config("nsas-bench nsas needs --steps above --members + 2, --members and --rounds at least 1")
        }
        let randomnas = try search(.randomnas), nsas = try search(.nsas)
        let full = Double(1 + members)
        var out: [Round] = [], allR: [Double] = [], allN: [Double] = []
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
        for r in 0..<rounds {
            // Each search trains its epoch 0 again: the archive stays full after the first round,
            // the data order and sampled paths repeat (the same seed and epoch), weights move on.
            _ = try randomnas.trainEpoch(0)
            // The first steps of a round warm the buffer cache and the worker pool.
            let rTimes = randomnas.stepTimes.dropFirst(2).map(\.seconds)
            _ = try nsas.trainEpoch(0)
            let nTimes = nsas.stepTimes.dropFirst(2).filter { $0.passes == full }.map(\.seconds)
            guard !rTimes.isEmpty, !nTimes.isEmpty else { throw RunError.config("no NSAS step with a full archive in \(steps) steps") }
            allR += rTimes; allN += nTimes
            let tr = mean(rTimes), tn = mean(nTimes)
            out.append(Round(randomnasStep: tr, nsasStep: tn, ratio: tn / tr, randomnasSteps: rTimes.count, nsasSteps: nTimes.count))
            log(String(format: "round %d/%d: RandomNAS step %.3f s (%d steps), NSAS step %.3f s (%d steps with %g paths): %.2fx",
                       r + 1, rounds, tr, rTimes.count, tn, nTimes.count, full, tn / tr))
        }
        return Result(rounds: out, ratio: mean(allN) / mean(allR), randomnasStep: mean(allR), nsasStep: mean(allN), passes: full)
    }
}
