import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// Writes a run's checkpoint every epoch: `DIR/epoch-0007.nsasckpt`, then `DIR/latest` naming it.
/// The optimizer section is kept only in the newest checkpoint unless `keepAllOptimizerState`.
public struct RunCheckpointer {
    public var directory: String
    public var keepAllOptimizerState = false

    public init(directory: String, keepAllOptimizerState: Bool = false) {
        self.directory = directory; self.keepAllOptimizerState = keepAllOptimizerState
    }

    public static func fileName(epoch: Int) -> String { RunSchema.fileName(epoch: epoch) }

    static func json<T: Encodable>(_ name: String, _ value: T) throws -> CheckpointWriter.Section {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return CheckpointWriter.Section(name, Array(try enc.encode(value)))
    }

    static func tensors(_ name: String, _ t: [StoredTensor]) -> CheckpointWriter.Section {
        CheckpointWriter.Section(name, TensorCodec.encode(t), codec: .zstdShuffle4)
    }

    static func stored(_ named: [(String, Tensor)]) -> [StoredTensor] {
        named.map { StoredTensor(name: $0.0, shape: $0.1.shape, values: $0.1.array) }
    }

    /// The sections every run writes: config, state, metrics, paths, rng, weights, optimizer.
    static func common(config: RunSchema.Config, state: RunSchema.State, metrics: EpochMetrics, paths: [String],
                       streams: RandomStreams, named: [(String, Tensor)], sgd: SGD) throws -> [CheckpointWriter.Section] {
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        var momentum: [StoredTensor] = []
        // Every parameter has an entry; one never updated (off every sampled path so far) is empty,
        // so a missing entry always means a damaged or crafted file.
        for (p, v) in zip(sgd.parameters, sgd.velocity) {
            momentum.append(StoredTensor(name: "momentum." + (nameOf[ObjectIdentifier(p)] ?? "?"), shape: v.isEmpty ? [0] : p.shape, values: v))
        }
        return [try json("config", config), try json("state", state), try json("metrics", metrics),
                CheckpointWriter.Section("paths", Array(paths.joined(separator: "\n").utf8)),
                try json("rng", RunSchema.Streams(streams: streams.states)),
                tensors("weights", stored(named)), tensors("optimizer", momentum)]
    }

    /// Writes epoch `epoch` (1-based, completed) atomically, points `latest` at it, and drops the
    /// optimizer state of the epoch two before (the newest two keep it, so one damaged file never
    /// makes a run unresumable); returns the file's path and size.
    @discardableResult
    public func write(epoch: Int, sections: [CheckpointWriter.Section]) throws -> (String, Int) {
        let path = (directory as NSString).appendingPathComponent(Self.fileName(epoch: epoch))
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CheckpointError(directory, "cannot create the run folder (\(error.localizedDescription))")
        }
        let bytes = try CheckpointWriter.encode(sections)
        try CheckpointWriter.writeAtomically(bytes, to: path)
        try CheckpointWriter.writeAtomically(Array((Self.fileName(epoch: epoch) + "\n").utf8),
                                             to: (directory as NSString).appendingPathComponent("latest"))
        if !keepAllOptimizerState && epoch > 2 { try dropOptimizer(epoch: epoch - 2) }
        return (path, bytes.count)
    }

    /// Rewrites an older checkpoint without its optimizer section (atomically, like every write).
    func dropOptimizer(epoch: Int) throws {
        let path = (directory as NSString).appendingPathComponent(Self.fileName(epoch: epoch))
        guard FileManager.default.fileExists(atPath: path) else { return }
        let f = try CheckpointFile(path)
        guard f.has("optimizer") else { return }
        let sections = try f.entries.filter { $0.name != "optimizer" }.map { CheckpointWriter.Section($0.name, try f.read($0.name), codec: $0.codec) }
        try CheckpointWriter.write(sections, to: path)
    }
}

/// The finiteness check every checkpoint write makes first: a non-finite weight, buffer or
/// optimizer state is never written.
enum FiniteCheck {
    /// Throws naming the first non-finite tensor (one line; the last good checkpoint stays the newest).
    static func check(_ named: [(String, Tensor)], momentum: SGD? = nil, epoch: Int, step: Int) throws {
        for (name, t) in named where !t.allFinite {
            throw RunError.nonFinite(tensor: name, epoch: epoch, step: step)
        }
        guard let sgd = momentum else { return }
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        for (p, v) in zip(sgd.parameters, sgd.velocity) where !v.isEmpty && !v.allSatisfy(\.isFinite) {
            throw RunError.nonFinite(tensor: "momentum." + (nameOf[ObjectIdentifier(p)] ?? "?"), epoch: epoch, step: step)
        }
    }
}

/// Restoring state from a checkpoint.
enum RunRestore {
    /// SGD momentum by parameter name; the newest checkpoint of a run always has it.
    static func momentum(_ f: CheckpointFile, into sgd: SGD, named: [(String, Tensor)]) throws {
        guard f.has("optimizer") else {
            throw CheckpointError(f.path, section: "optimizer", "is missing (older checkpoints keep only weights)", advice: "resume from the newest checkpoint, or write all with --keep-optimizer")
        }
        let stored = try f.tensors("optimizer")
        let momentum = Dictionary(stored.map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        // nsas 0.2.0 wrote only the parameters that had been updated; later versions write all.
        let legacy = try RunSchema.config(f).tool == "nsas 0.2.0" && !stored.contains { $0.values.isEmpty }
        for (i, p) in sgd.parameters.enumerated() {
            let name = "momentum." + (nameOf[ObjectIdentifier(p)] ?? "?")
            switch momentum[name] {
            case let v? where v.count == p.count: sgd.velocity[i] = v
            case let v? where v.isEmpty: sgd.velocity[i] = []
            case nil where legacy: sgd.velocity[i] = []
            case let v?:
                throw CheckpointError(f.path, section: "optimizer", "tensor '\(name)' holds \(v.count) values, the parameter has \(p.count)",
                                      advice: "the file is damaged; use an earlier epoch that has optimizer state")
            case nil:
                throw CheckpointError(f.path, section: "optimizer", "has no tensor '\(name)' (\(stored.count) of \(sgd.parameters.count) parameters)",
                                      advice: "the file is damaged; use an earlier epoch that has optimizer state")
            }
        }
    }

}
