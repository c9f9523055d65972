import Foundation
import NSASCheckpoint
import NSASSearchSpace
import NSASTensor

/// The version string written into checkpoints.
public let nsasVersion = "nsas 0.3.0"

/// One tracked architecture's held-out score after an epoch (`--track`): accuracy or perplexity.
public struct TrackedScore: Codable, Equatable, Sendable {
    public var arch: String
    public var accuracy: Float?
    public var perplexity: Float?
    public var loss: Float
    public init(arch: String, score: ScoreKind, value: Float, loss: Float) {
        self.arch = arch; self.loss = loss
        if score.higherIsBetter { accuracy = value } else { perplexity = value }
    }
}

/// Metrics of one epoch, of any space and method (absent fields do not apply).
public struct EpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var trainAccuracy: Float?
    public var trainPerplexity: Float?
    public var lr: Float
    public var seconds: Double
    /// Items (images or tokens) per second, and which.
    public var throughput: Double
    public var unit: String
    /// Stand-alone: validation accuracy (CNN) or perplexity (RNN) after the epoch.
    public var heldoutAccuracy: Float?
    public var validPerplexity: Float?
    /// Held-out scores of the `--track` architectures with this epoch's weights (paper Figure 1).
    public var tracked: [TrackedScore]?
    /// GDAS: the temperature of the epoch and the argmax genotype after it.
    public var tau: Float?
    public var genotype: String?
    /// Searches: the epoch's compute in path passes (a path's forward and backward counts 1, a
    /// forward alone 1/3): RandomNAS 1 a step, `--paths-per-step K` K, NSAS 1 + M once the
    /// archive is full, GDAS 2.
    public var pathPasses: Double?

    public init(epoch: Int, trainLoss: Float, lr: Float, seconds: Double, throughput: Double, unit: String) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.lr = lr; self.seconds = seconds; self.throughput = throughput; self.unit = unit
    }

    /// The metrics.jsonl record.
    public var record: [String: Any] {
        var r: [String: Any] = ["event": "epoch", "epoch": epoch, "train_loss": trainLoss, "lr": lr, "seconds": seconds,
                                unit == "tokens" ? "tokens_per_s" : "images_per_s": throughput]
        if let trainAccuracy { r["train_accuracy"] = trainAccuracy }
        if let trainPerplexity { r["train_perplexity"] = trainPerplexity }
        if let heldoutAccuracy { r["heldout_accuracy"] = heldoutAccuracy }
        if let validPerplexity { r["valid_perplexity"] = validPerplexity }
        if let tau { r["tau"] = tau }
        if let genotype { r["genotype"] = genotype }
        if let pathPasses { r["path_passes"] = pathPasses }
        if let tracked {
            r["tracked"] = tracked.map { t -> [String: Any] in
                var o: [String: Any] = ["arch": t.arch, "loss": t.loss]
                if let a = t.accuracy { o["accuracy"] = a }
                if let p = t.perplexity { o["perplexity"] = p }
                return o
            }
        }
        return r
    }
}

/// The sections every checkpoint of a run holds (format version 2; docs/checkpoint-format.md):
/// `config` (this run's options), `state`, `metrics`, `paths`, `rng` (named streams), `weights`,
/// `optimizer` (SGD momentum); and by method `arch`/`arch_state` (GDAS logits and Adam),
/// `archive` (NSAS), `wpl`/`wpl_state` (WPL), `standalone` (stand-alone training's own state).
public enum RunSchema {
    public struct Config: Codable, Sendable {
        public var tool: String
        public var run: RunConfig
        /// The network as built (informational: sizes, vocabulary, classes).
        public var network: JSONValue
        public var data: String
        /// What the run trained on (checkpoints written before it was recorded have none).
        public var dataFingerprint: String?
        public init(tool: String = nsasVersion, run: RunConfig, network: JSONValue, data: String, dataFingerprint: String? = nil) {
            self.tool = tool; self.run = run; self.network = network; self.data = data; self.dataFingerprint = dataFingerprint
        }
    }

    public struct State: Codable, Sendable {
        /// Epochs completed.
        public var epoch: Int
        /// Training steps since the start of the run.
        public var globalStep: Int
        /// Steps of this epoch (lines of `paths`).
        public var steps: Int
        public var lr: Float
        public init(epoch: Int, globalStep: Int, steps: Int, lr: Float) {
            self.epoch = epoch; self.globalStep = globalStep; self.steps = steps; self.lr = lr
        }
    }

    /// Named random streams, each a xoshiro256** state.
    public struct Streams: Codable, Sendable {
        public var streams: [String: [UInt64]]
        public init(streams: [String: [UInt64]]) { self.streams = streams }
    }

    /// The run's options, validated like the command line's (bounds on every size, before anything is built).
    public static func config(_ f: CheckpointFile) throws -> Config {
        let c = try f.json("config", as: Config.self)
        do { try c.run.validate() } catch {
            throw CheckpointError(f.path, section: "config", "\(error)", advice: "the file is damaged or crafted; use an earlier epoch")
        }
        return c
    }
    /// The run state, checked: a crafted or damaged state never reaches a file name or a loop bound.
    public static func state(_ f: CheckpointFile) throws -> State {
        let s = try f.json("state", as: State.self)
        guard (0...RunConfig.maxEpochs).contains(s.epoch), s.globalStep >= 0, s.steps >= 0, s.steps <= s.globalStep, s.lr.isFinite else {
            throw CheckpointError(f.path, section: "state", "holds epoch \(s.epoch), step \(s.globalStep), \(s.steps) steps, lr \(s.lr): not a run's state",
                                  advice: "the file is damaged; use an earlier epoch")
        }
        return s
    }

    public static func fileName(epoch: Int) -> String { String(format: "epoch-%04d.nsasckpt", epoch) }

    /// Copies stored tensors into live ones by name; every live tensor must be present with its shape.
    public static func load(_ stored: [StoredTensor], into named: [(String, Tensor)], path: String, section: String) throws {
        let byName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, t) in named {
            guard let s = byName[name] else {
                throw CheckpointError(path, section: section, "has no tensor '\(name)'", advice: "the checkpoint is from a different network; resume with the options it was written with")
            }
            guard s.shape == t.shape else {
                throw CheckpointError(path, section: section, "tensor '\(name)' has shape \(s.shape), the network \(t.shape)")
            }
            if let bad = s.values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError(path, section: section, "tensor '\(name)' holds \(s.values[bad]) at index \(bad)",
                                      advice: "the file is damaged; use an earlier epoch")
            }
            try t.load(s.values)
        }
    }
}

/// Architectures as text, for tools that know a run's space but not its types.
public enum Architectures {
    /// The architectures of a file (one a line, any of the space's forms), each in its full form.
    public static func list(fromFile path: String, space: SpaceID) throws -> [String] { try list(SpaceRegistry.type(space), path) }
    static func list<S: SearchSpace>(_ t: S.Type, _ path: String) throws -> [String] { try S.Arch.list(fromFile: path).map(\.description) }

    /// One architecture in the space's full text form (DARTS's `Genotype(...)`).
    public static func describe(_ text: String, space: SpaceID) throws -> String { try describe(SpaceRegistry.type(space), text) }
    static func describe<S: SearchSpace>(_ t: S.Type, _ text: String) throws -> String { try S.Arch(parsing: text).description }
}

/// The genotype a checkpoint stands for, for drawing and inspection: a GDAS search's argmax of its
/// logits; a stand-alone run's own genotype; for RandomNAS-style searches the genotype selected at
/// the end, when the checkpoint is the run's final one and its metrics.jsonl records the selection.
public enum CheckpointGenotype {
    public static func load(_ path: String) throws -> (arch: any Architecture, space: SpaceID, how: String) {
        let f = try CheckpointFile(path)
        let c = try RunSchema.config(f)
        let (a, how) = try open(SpaceRegistry.type(c.run.space), f, c)
        return (a, c.run.space, how)
    }

    static func open<S: SearchSpace>(_ type: S.Type, _ f: CheckpointFile, _ c: RunSchema.Config) throws -> (any Architecture, String) {
        let options = try c.run.options(S.self)
        if f.has("arch") {
            let stored = try f.tensors("arch")
            let logits = try S.edgeCounts(options).indices.map { i -> Tensor in
                guard let t = stored.first(where: { $0.name == "alpha.\(i)" }) else {
                    throw CheckpointError(f.path, section: "arch", "lacks the logits alpha.\(i)")
                }
                guard t.values.allSatisfy(\.isFinite) else { throw CheckpointError(f.path, section: "arch", "logits alpha.\(i) are not all finite") }
                return try Tensor(t.values, shape: t.shape)
            }
            do { return (try S.genotype(logits: logits, options: options), "argmax of the architecture logits") } catch {
                throw CheckpointError(f.path, section: "arch", "\(error)")
            }
        }
        if let s = c.run.standalone { return (try S.Arch(parsing: s.genotype), "the stand-alone network's genotype") }
        let state = try RunSchema.state(f)
        if let text = selected(f.path, epoch: state.epoch, epochs: c.run.epochs) {
            return (try S.Arch(parsing: text), "the genotype the search selected")
        }
        throw CheckpointError(f.path, "is a \(c.run.method.rawValue) checkpoint of epoch \(state.epoch) with no selected genotype (RandomNAS-style searches select at the end); rank it with `nsas-rank --checkpoint \(f.path) --sample 100 --out r.csv` and draw with `--from r.csv --top 1`")
    }

    /// The selection record of a finished run, when `path` is its final checkpoint.
    static func selected(_ path: String, epoch: Int, epochs: Int) -> String? {
        let metrics = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("metrics.jsonl")
        guard epoch == epochs, let data = FileManager.default.contents(atPath: metrics), let text = String(data: data, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n").reversed() {
            if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], obj["event"] as? String == "selection",
               let g = obj["genotype"] as? String {
                return g
            }
        }
        return nil
    }
}
