import Foundation
import NSASCheckpoint
import NSASSearchSpace
import NSASTensor

/// The version string written into checkpoints.
public let nsasVersion = "nsas 0.1.0"

/// Writes a run's checkpoint every epoch: `DIR/epoch-0007.nsasckpt`, then `DIR/latest` naming it.
/// Sections: config, state, metrics, paths (the architecture of every step, one-line form),
/// rng, weights (every parameter and BN statistic by name), optimizer (SGD momentum by
/// parameter name; by default kept only in the newest checkpoint).
public struct RunCheckpointer {
    public var directory: String
    /// Keep optimizer state in every checkpoint (true) or only the newest (false).
    public var keepAllOptimizerState = false

    public init(directory: String, keepAllOptimizerState: Bool = false) {
        self.directory = directory; self.keepAllOptimizerState = keepAllOptimizerState
    }

    public static func fileName(epoch: Int) -> String { String(format: "epoch-%04d.nsasckpt", epoch) }

    public struct Config: Codable, Sendable { public var tool: String; public var train: TrainConfig; public var network: CNNConfig; public var data: String }
    public struct State: Codable, Sendable { public var epoch: Int; public var method: String; public var lr: Float; public var steps: Int }
    public struct RNGs: Codable, Sendable { public var sampling: [UInt64]; public var data: [UInt64] }
    /// NSAS state (RandomNAS-NSAS over genotypes, GDAS-NSAS over GDAS paths).
    public struct ArchiveState<A: Archivable>: Codable, Sendable {
        public var archive: ConstraintArchive<A>; public var rng: [UInt64]; public var globalStep: Int
    }

    static func stored(_ named: [(String, Tensor)]) -> [StoredTensor] {
        named.map { StoredTensor(name: $0.0, shape: $0.1.shape, values: $0.1.array) }
    }

    /// Writes epoch `epoch` (1-based, completed) and returns the file's path and size.
    @discardableResult
    func write(epoch: Int, config: TrainConfig, network: CNNConfig, dataName: String, metrics: EpochMetrics,
               paths: [Genotype], pathText: [String]? = nil, sampling: RNG, data: RNG, named: [(String, Tensor)], sgd: SGD,
               archive: ArchiveState<Genotype>? = nil, extra: [CheckpointWriter.Section] = []) throws -> (String, Int) {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        var momentum: [StoredTensor] = []
        for (p, v) in zip(sgd.parameters, sgd.velocity) where !v.isEmpty {
            momentum.append(StoredTensor(name: "momentum." + (nameOf[ObjectIdentifier(p)] ?? "?"), shape: p.shape, values: v))
        }
        var sections = [
            CheckpointWriter.Section("config", Array(try enc.encode(Config(tool: nsasVersion, train: config, network: network, data: dataName)))),
            CheckpointWriter.Section("state", Array(try enc.encode(State(epoch: epoch, method: config.method.rawValue, lr: sgd.lr, steps: pathText?.count ?? paths.count)))),
            CheckpointWriter.Section("metrics", Array(try enc.encode(metrics))),
            CheckpointWriter.Section("paths", Array((pathText ?? paths.map(\.canonical)).joined(separator: "\n").utf8)),
            CheckpointWriter.Section("rng", Array(try enc.encode(RNGs(sampling: sampling.state, data: data.state)))),
            CheckpointWriter.Section("weights", TensorCodec.encode(Self.stored(named)), codec: .zstdShuffle4),
            CheckpointWriter.Section("optimizer", TensorCodec.encode(momentum), codec: .zstdShuffle4),
        ]
        if let archive { sections.insert(CheckpointWriter.Section("archive", Array(try enc.encode(archive))), at: 5) }
        sections += extra
        let path = (directory as NSString).appendingPathComponent(Self.fileName(epoch: epoch))
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CheckpointError(directory, "cannot create the run folder (\(error.localizedDescription))")
        }
        let bytes = try CheckpointWriter.encode(sections)
        try CheckpointWriter.writeAtomically(bytes, to: path)
        try CheckpointWriter.writeAtomically(Array((Self.fileName(epoch: epoch) + "\n").utf8),
                                             to: (directory as NSString).appendingPathComponent("latest"))
        if !keepAllOptimizerState && epoch > 1 { try dropOptimizer(epoch: epoch - 1) }
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

/// Restoring a run's state from a checkpoint.
enum RunRestore {
    /// An NSAS archive with its generator and step count.
    static func archive<A: Archivable>(_ f: CheckpointFile, of type: A.Type) throws -> (ConstraintArchive<A>, RNG, Int) {
        let a = try f.json("archive", as: RunCheckpointer.ArchiveState<A>.self)
        do { return (a.archive, try RNG(state: a.rng), a.globalStep) } catch { throw CheckpointError(f.path, section: "archive", "\(error)") }
    }

    /// The checks and state every search shares: the network matches, weights and BN statistics,
    /// SGD momentum.
    static func supernet(_ f: CheckpointFile, into supernet: Supernet, sgd: SGD) throws {
        let saved = try f.json("config", as: RunCheckpointer.Config.self)
        guard saved.network == supernet.config else {
            throw CheckpointError(f.path, section: "config", "was written for network \(saved.network), not \(supernet.config)")
        }
        let named = supernet.named()
        try load(f.tensors("weights"), into: named, path: f.path, section: "weights")
        try momentum(f, into: sgd, named: named)
    }

    /// SGD momentum by parameter name; the newest checkpoint of a run always has it.
    static func momentum(_ f: CheckpointFile, into sgd: SGD, named: [(String, Tensor)]) throws {
        guard f.has("optimizer") else {
            throw CheckpointError(f.path, section: "optimizer", "is missing (older checkpoints keep only weights)", advice: "resume from the newest checkpoint, or write all with --keep-optimizer")
        }
        let momentum = Dictionary(try f.tensors("optimizer").map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        for (i, p) in sgd.parameters.enumerated() {
            if let v = momentum["momentum." + (nameOf[ObjectIdentifier(p)] ?? "")], v.count == p.count { sgd.velocity[i] = v } else { sgd.velocity[i] = [] }
        }
    }

    /// Copies stored tensors into live ones by name; every live tensor must be present with its shape.
    static func load(_ stored: [StoredTensor], into named: [(String, Tensor)], path: String, section: String) throws {
        let byName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, t) in named {
            guard let s = byName[name] else {
                throw CheckpointError(path, section: section, "has no tensor '\(name)'", advice: "the checkpoint is from a different network; resume with the options it was written with")
            }
            guard s.shape == t.shape else {
                throw CheckpointError(path, section: section, "tensor '\(name)' has shape \(s.shape), the network \(t.shape)")
            }
            s.values.withUnsafeBufferPointer { t.ptr.update(from: $0.baseAddress!, count: t.count) }
        }
    }
}
