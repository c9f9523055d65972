import Foundation
import NSASRun
import NSASSearchSpace
import NSASTrain

/// An NSAS step against a RandomNAS step, as `nsas-train` runs them: two searches of the default
/// DARTS CNN search (the embedded data, 8 cells, C = 16, batch 64) built by the same code as the
/// command, with the same seed, train an epoch of `steps` steps each, their steps alternating,
/// `rounds` times, in one process. Both sample the same current paths (NSAS draws its archive
/// from a stream of its own), so step k of each is a pair: the same current path at about the
/// same moment, NSAS adding M archived paths. Pairs whose NSAS step ran a full archive (1 + M
/// path passes), after 2 warm-up steps, are kept; the figures are their mean step times (an
/// archived path's cost varies with its ops; the mean is what a run's length depends on), the
/// result pools every round, and the rounds' own ratios show the spread.
public struct NSASStepBench {
    public var steps = 40, rounds = 3, members = 4
    /// The base method: RandomNAS (NSAS is `nsas`) or GDAS (`gdas-nsas`).
    public var gdas = false
    public var data = "default"
    /// Changes to both searches' settings after the defaults (tests run a smaller network).
    public var adjust: (inout RunConfig) -> Void = { _ in }
    public var log: (String) -> Void = { _ in }

    public init() {}

    /// Also run a third search, NSAS without ops shared between its paths (only the stem and the
    /// preprocessing shared): what sharing ops saves, measured in the same pairs.
    public var compareUnshared = false

    public struct Round: Codable, Sendable {
        /// Mean step times and their ratio; the step pairs they are over.
        public var baseStep: Double, nsasStep: Double, ratio: Double
        public var steps: Int
        /// NSAS without shared ops (`compareUnshared`), and its ratio to RandomNAS.
        public var unsharedStep: Double?, unsharedRatio: Double?
        enum CodingKeys: String, CodingKey {
            case baseStep = "base_step_s", nsasStep = "nsas_step_s", ratio, steps
            case unsharedStep = "nsas_unshared_step_s", unsharedRatio = "unshared_ratio"
        }
    }

    public struct Result: Codable, Sendable {
        public var rounds: [Round]
        /// Mean NSAS step over mean RandomNAS step, every round's steps pooled; those means.
        public var ratio: Double, baseStep: Double, nsasStep: Double
        public var unsharedStep: Double?, unsharedRatio: Double?
        /// 1 + M: the ratio over RandomNAS with nothing shared (over GDAS, whose steps also run an
        /// architecture step, (2 + M) / 2 of the passes).
        public var passes: Double
        enum CodingKeys: String, CodingKey {
            case rounds, ratio, baseStep = "base_step_s", nsasStep = "nsas_step_s", passes = "nsas_path_passes"
            case unsharedStep = "nsas_unshared_step_s", unsharedRatio = "unshared_ratio"
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
        let (base, wrapped): (Method, Method) = gdas ? (.gdas, .gdasNSAS) : (.randomnas, .nsas)
        var searches = [try search(base), try search(wrapped)]
        if compareUnshared {
            let s = try search(wrapped)
            (s.spaceObject as? DARTSCNNSpace)?.sharesEdgeOps = false
            searches.append(s)
        }
        var out: [Round] = [], all = [[Double]](repeating: [], count: searches.count)
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
        for r in 0..<rounds {
            // Each search trains its epoch 0 again: the archive stays full after the first round,
            // the data order and sampled paths repeat (the same seed and epoch), weights move on.
            // The searches' steps alternate (which goes first rotates), so that step k of each,
            // with the same current path, runs seconds apart on the machine.
            let epochs = try searches.map { try $0.beginEpoch(0) }
            var k = 0, more = true
            while more {
                for i in searches.indices { more = try epochs[(i + k) % searches.count].step() }
                k += 1
            }
            epochs.forEach { _ = $0.finish() }
            // Steps after the first 2 (warm-up) whose NSAS steps ran a full archive.
            let n = searches.map(\.stepTimes.count).min()!
            // (A full NSAS step runs M passes more than its base's step: GDAS's steps are 2 passes.)
            let keep = (min(2, n)..<n).filter { k in
                searches.dropFirst().allSatisfy { $0.stepTimes[k].passes == searches[0].stepTimes[k].passes + Double(members) }
            }
            guard !keep.isEmpty else { throw RunError.config("no NSAS step with a full archive in \(steps) steps") }
            let times = searches.map { s in keep.map { s.stepTimes[$0].seconds } }
            for i in times.indices { all[i] += times[i] }
            let m = times.map(mean)
            out.append(Round(baseStep: m[0], nsasStep: m[1], ratio: m[1] / m[0], steps: keep.count,
                             unsharedStep: compareUnshared ? m[2] : nil, unsharedRatio: compareUnshared ? m[2] / m[0] : nil))
            log(String(format: "round %d/%d: %d step pairs, %@ %.3f s, %@ %.3f s: %.2fx", r + 1, rounds, keep.count, base.rawValue, m[0], wrapped.rawValue, m[1], m[1] / m[0])
                + (compareUnshared ? String(format: "; without shared ops %.3f s: %.2fx", m[2], m[2] / m[0]) : ""))
        }
        let m = all.map(mean)
        return Result(rounds: out, ratio: m[1] / m[0], baseStep: m[0], nsasStep: m[1],
                      unsharedStep: compareUnshared ? m[2] : nil, unsharedRatio: compareUnshared ? m[2] / m[0] : nil,
                      passes: Double(1 + members))
    }
}
