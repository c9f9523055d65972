import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// Builds searches: the space from the registry, the method by name (NSAS wraps its base).
public enum Search {
    /// A search of `config.space` with `config.method`, its space built and initialised from the seed.
    /// `data` reuses loaded data (of the same space and options).
    public static func make(_ config: RunConfig, log: RunLog, data: Any? = nil) throws -> any AnySearch {
        try config.validate()
        guard config.method != .standalone else { throw RunError.config("--method standalone trains one architecture; it is no search") }
        return try open(SpaceRegistry.type(config.space), config, log, data)
    }

    static func open<S: SearchSpace>(_ type: S.Type, _ config: RunConfig, _ log: RunLog, _ data: Any?) throws -> any AnySearch {
        let options = try config.options(S.self)
        let streams = RandomStreams(seed: config.seed)
        let loaded = try (data as? S.Data) ?? S.loadData(options, setup: config.setup)
        try S.checkMemory(options, data: loaded, setup: config.setup, supernet: true, training: true)
        let space = try S(options: options, setup: config.setup, data: loaded, streams: streams)
        func engine<M: SearchMethod>(_ m: M) -> any AnySearch where M.Space == S {
            SearchEngine(space: space, method: m, config: config, streams: streams, log: log)
        }
        switch config.method {
        case .randomnas: return engine(RandomNAS<S>(pathsPerStep: config.randomnas?.pathsPerStep ?? 1))
        case .nsas: return engine(NSAS(base: RandomNAS<S>(), options: config.nsas!))
        case .wpl: return engine(WPL<S>(options: config.wpl!))
        case .gdas: return engine(try GDAS(space: space, config: config, streams: streams))
        case .gdasNSAS: return engine(NSAS(base: try GDAS(space: space, config: config, streams: streams), options: config.nsas!))
        case .standalone: throw RunError.config("--method standalone is no search")
        }
    }

    /// Continues the run in `dir` from its newest checkpoint, with the options it was started with.
    public static func resume(_ dir: String, log: RunLog, keepOptimizer: Bool, allowChangedData: Bool = false) throws -> (search: any AnySearch, done: Int) {
        let latest = try RunDirectory.latest(dir)
        let f = try CheckpointFile(latest)
        let saved = try RunSchema.config(f)
        let search = try make(saved.run, log: log)
        try DataCheck.same(saved, now: search.dataFingerprint, dir: dir, allowChanged: allowChangedData, log: log)
        search.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: keepOptimizer)
        try search.track(try f.json("metrics", as: EpochMetrics.self).tracked?.map(\.arch) ?? [])
        let done = try search.restore(from: latest)
        log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(saved.run.epochs) epochs done)")
        return (search, done)
    }
}

/// Re-runs a recorded run (a search or a stand-alone training) from one of its checkpoints (or
/// from its seed) and compares every later checkpoint: the sampled paths must match exactly, the
/// weights within a tolerance.
public struct Replay {
    public struct Divergence: Sendable, CustomStringConvertible {
        public var epoch: Int
        public var step: Int?
        public var tensor: String?
        public var maxDifference: Float?
        public var detail: String
        public var description: String {
            var s = "epoch \(epoch)"
            if let step { s += ", step \(step)" }
            if let tensor { s += ", tensor \(tensor)" }
            if let maxDifference { s += String(format: ", max difference %.3g", maxDifference) }
            return s + ": " + detail
        }
    }

    public struct EpochReport: Sendable {
        public var epoch: Int
        public var pathsMatch: Bool
        public var maxWeightDifference: Float
    }

    public var directory: String
    public var tolerance: Float = 1e-5
    public var log: RunLog

    public init(directory: String, tolerance: Float = 1e-5, log: RunLog) {
        self.directory = directory; self.tolerance = tolerance; self.log = log
    }

    func file(_ epoch: Int) -> String { (directory as NSString).appendingPathComponent(RunSchema.fileName(epoch: epoch)) }

    /// Replays epochs from+1 ... to; returns per-epoch reports and the first divergence, if any.
    public func run(from: Int, to: Int?) throws -> ([EpochReport], Divergence?) {
        let latest = try CheckpointFile(try RunDirectory.latest(directory))
        let saved = try RunSchema.config(latest)
        let last = try RunSchema.state(latest).epoch
        let end = min(to ?? last, last)
        guard from >= 0, from < end else { throw RunError.config("--from \(from) must lie in 0..<\(end) (the run has \(last) epochs)") }
        let run: any Replayable = saved.run.method == .standalone ? try Standalone.make(saved.run, log: log) : try Search.make(saved.run, log: log)
        if from > 0 {
            let start = try run.restore(from: file(from))
            guard start == from else { throw CheckpointError(file(from), section: "state", "holds epoch \(start), not \(from)") }
        }
        var reports: [EpochReport] = []
        for e in from..<end {
            try run.replayEpoch(e)
            let f = try CheckpointFile(file(e + 1))
            let recorded = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
            let replayed = run.pathTexts
            if let k = zip(recorded, replayed).enumerated().first(where: { $0.1.0 != $0.1.1 })?.offset
                ?? (recorded.count != replayed.count ? min(recorded.count, replayed.count) : nil) {
                reports.append(EpochReport(epoch: e + 1, pathsMatch: false, maxWeightDifference: .nan))
                return (reports, Divergence(epoch: e + 1, step: k + 1, tensor: nil, maxDifference: nil,
                                            detail: "sampled path differs (recorded \(k < recorded.count ? recorded[k] : "nothing"), replayed \(k < replayed.count ? replayed[k] : "nothing"))"))
            }
            let stored = Dictionary(try f.tensors("weights").map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var worst: (String, Float) = ("", 0)
            for (name, t) in run.namedWeights() {
                guard let s = stored[name], s.values.count == t.count else {
                    return (reports, Divergence(epoch: e + 1, step: nil, tensor: name, maxDifference: nil, detail: "missing from the checkpoint"))
                }
                let d = try t.maxAbsDifference(s.values)
                if !(d <= worst.1) { worst = (name, d) }
            }
            reports.append(EpochReport(epoch: e + 1, pathsMatch: true, maxWeightDifference: worst.1))
            log.line(worst.1 == 0 ? "epoch \(e + 1): \(replayed.count) paths match; weights identical"
                                  : String(format: "epoch %d: %d paths match; weights max difference %.3g (%@)", e + 1, replayed.count, worst.1, worst.0))
            if !(worst.1 <= tolerance) {
                return (reports, Divergence(epoch: e + 1, step: nil, tensor: worst.0, maxDifference: worst.1,
                                            detail: String(format: "weights differ by more than the tolerance %.3g", tolerance)))
            }
        }
        return (reports, nil)
    }
}

/// What replay needs of a run: restore, one epoch as the run trained it, its paths and weights.
public protocol Replayable: AnyObject {
    func restore(from path: String) throws -> Int
    func replayEpoch(_ epoch: Int) throws
    var pathTexts: [String] { get }
    func namedWeights() -> [(String, Tensor)]
}

extension SearchEngine {
    public func replayEpoch(_ epoch: Int) throws { _ = try trainEpoch(epoch) }
}

extension StandaloneEngine {
    /// Stand-alone runs train no sampled paths.
    public var pathTexts: [String] { [] }
}

/// Resume continues on the data the run trained on: the fingerprint its checkpoints recorded must
/// be that of the data loaded now (`--allow-changed-data` continues anyway, and says so).
enum DataCheck {
    static func same(_ saved: RunSchema.Config, now: String, dir: String, allowChanged: Bool, log: RunLog) throws {
        guard let old = saved.dataFingerprint, old != now else { return }
        if allowChanged {
            log.line("nsas-train: the data changed since the checkpoint (\(old) then, \(now) now); continuing as --allow-changed-data asks")
            return
        }
        throw RunError.config("\(dir) trained on other data (\(saved.run.data): \(old) then, \(now) now); restore that data, or give --allow-changed-data to continue on this")
    }
}
