import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// Re-runs a recorded search from one of its checkpoints (or from its seed) and compares every
/// later checkpoint: the sampled paths must match exactly, the weights within a tolerance.
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

    func file(_ epoch: Int) -> String { (directory as NSString).appendingPathComponent(RunCheckpointer.fileName(epoch: epoch)) }

    /// Replays epochs from+1 ... to; returns per-epoch reports and the first divergence, if any.
    public func run(from: Int, to: Int?) throws -> ([EpochReport], Divergence?) {
        let latest = try RunDirectory.latest(directory)
        let last = try CheckpointFile(latest).json("state", as: RunCheckpointer.State.self).epoch
        let end = min(to ?? last, last)
        guard from >= 0, from < end else {
            throw TrainError.config("--from \(from) must lie in 0..<\(end) (the run has \(last) epochs)")
        }
        let trainer: any ReplayableTrainer
        if RNNSearchTrainer.isRNN(try CheckpointFile(latest)) {
            let c = try CheckpointFile(latest).json("config", as: RNNSearchTrainer.Config.self).train
            let corpus = try Corpus.load(c.data)
            guard let t = try makeRNNSearch(config: c, corpus: corpus, log: log) as? any ReplayableTrainer else {
                throw TrainError.config("\(c.method.rawValue) in the RNN space cannot be replayed")
            }
            trainer = t
        } else {
            let saved = try CheckpointFile(latest).json("config", as: RunCheckpointer.Config.self)
            guard saved.train.method != .standalone else { throw TrainError.config("\(latest) is a stand-alone run; nsas-replay replays searches") }
            let data = try DataSource.load(saved.train.data, seed: saved.train.seed, heldoutFraction: saved.train.heldoutFraction)
            guard let t = try makeCNNSearch(config: saved.train, data: data, log: log) as? any ReplayableTrainer else {
                throw TrainError.config("\(saved.train.method.rawValue) cannot be replayed")
            }
            trainer = t
        }
        if from > 0 {
            let start = try trainer.restore(from: file(from))
            guard start == from else { throw CheckpointError(file(from), section: "state", "holds epoch \(start), not \(from)") }
        }
        var reports: [EpochReport] = []
        for e in from..<end {
            try trainer.replayEpoch(e)
            let f = try CheckpointFile(file(e + 1))
            let recorded = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
            let replayed = trainer.pathTexts
            if let k = zip(recorded, replayed).enumerated().first(where: { $0.1.0 != $0.1.1 })?.offset ?? (recorded.count != replayed.count ? min(recorded.count, replayed.count) : nil) {
                reports.append(EpochReport(epoch: e + 1, pathsMatch: false, maxWeightDifference: .nan))
                return (reports, Divergence(epoch: e + 1, step: k + 1, tensor: nil, maxDifference: nil,
                                            detail: "sampled path differs (recorded \(k < recorded.count ? recorded[k] : "nothing"), replayed \(k < replayed.count ? replayed[k] : "nothing"))"))
            }
            let stored = try f.tensors("weights")
            var worst: (String, Float) = ("", 0)
            for (name, t) in trainer.namedWeights() {
                guard let s = stored.first(where: { $0.name == name }), s.values.count == t.count else {
                    return (reports, Divergence(epoch: e + 1, step: nil, tensor: name, maxDifference: nil, detail: "missing from the checkpoint"))
                }
                var d: Float = 0
                for i in 0..<t.count { d = max(d, abs(t.ptr[i] - s.values[i])) }
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

/// What replay needs of a search trainer (either space).
protocol ReplayableTrainer: AnyObject {
    /// Every weight and buffer by its checkpoint name.
    func namedWeights() -> [(String, Tensor)]
    /// The paths of the last epoch, as the checkpoint's `paths` section writes them.
    var pathTexts: [String] { get }
    func restore(from path: String) throws -> Int
    func replayEpoch(_ epoch: Int) throws
}

extension RandomNASTrainer: ReplayableTrainer {
    var pathTexts: [String] { epochPaths.map(\.canonical) }
    func namedWeights() -> [(String, Tensor)] { supernet.named() }
    func replayEpoch(_ epoch: Int) throws { _ = try trainEpoch(epoch) }
}

extension GDASTrainer: ReplayableTrainer {
    var pathTexts: [String] { epochPaths }
    func namedWeights() -> [(String, Tensor)] { supernet.named() }
    func replayEpoch(_ epoch: Int) throws { _ = try trainEpoch(epoch) }
}

extension RNNSearchTrainer: ReplayableTrainer {
    var pathTexts: [String] { epochPaths }
    func namedWeights() -> [(String, Tensor)] { network.named() }
    func replayEpoch(_ epoch: Int) throws { _ = try trainEpoch(epoch) }
}

extension RNNGDASTrainer: ReplayableTrainer {
    var pathTexts: [String] { epochPaths }
    func namedWeights() -> [(String, Tensor)] { network.named() }
    func replayEpoch(_ epoch: Int) throws { _ = try trainEpoch(epoch) }
}
