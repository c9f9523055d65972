import Foundation
import NSASTensor

/// The name of a search space, written into every checkpoint (`darts-cnn`, `darts-rnn`, ...).
/// Each space declares its own constant next to its code; `SpaceRegistry` lists the spaces.
public struct SpaceID: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
}

/// Anything the NSAS archive can hold: a distance for novelty search (Eq. 7).
public protocol Archivable: Codable, Equatable, Sendable {
    func distance(to other: Self) -> Double
}

/// An architecture of a space: parsed and printed in the space's own text forms, with a one-line
/// canonical key (what ranking CSV files join on) and the archive distance.
public protocol Architecture: Archivable, Hashable, CustomStringConvertible {
    init(parsing text: String) throws
    var canonical: String { get }
}

/// GDAS's path: for every cell type, the op (index into the space's primitive list) of every
/// edge. Distance: 1 - matching edges / all edges.
public struct EdgeOps: Archivable, Hashable {
    public var cells: [[Int]]
    public init(_ cells: [[Int]]) { self.cells = cells }
    public func distance(to other: EdgeOps) -> Double {
        let a = cells.joined(), b = other.cells.joined()
        let same = zip(a, b).filter { $0 == $1 }.count
        return 1 - Double(same) / Double(max(a.count, 1))
    }
    /// Starts a GDAS path line in a checkpoint's `paths` section: such paths run every edge, so
    /// they are no genotype and are told apart by this prefix.
    public static let prefix = "all-edges "
}

/// Where in the supernet a path trains an op: cell type (index into the space's `cellTypes`),
/// edge (the supernet's edge index within that cell type) and op name.
public struct PathSite: Hashable, Sendable, Comparable {
    public var cellType: Int, edge: Int, op: String
    public init(cellType: Int, edge: Int, op: String) { self.cellType = cellType; self.edge = edge; self.op = op }
    public static func < (a: PathSite, b: PathSite) -> Bool { (a.cellType, a.edge, a.op) < (b.cellType, b.edge, b.op) }
}

/// What a forward pass trains: one architecture's path, or every edge with one op each (GDAS),
/// optionally scaled by straight-through weights (`weights[cell][edge]`).
public enum Path<A> {
    case arch(A)
    case edges(EdgeOps, weights: [[Tensor?]]?)
}

/// A training-mode loss of one path on one batch. `loss` is what is back-propagated (with a
/// space's regularisers), `value` the plain loss reported, `correct` of `count` the items the
/// logits got right (0 where it has no meaning), `carry` state the next batch continues from.
public struct PathLoss {
    public var loss: Tensor
    public var value: Float
    public var correct: Int
    public var count: Int
    public var carry: Tensor?
    public init(loss: Tensor, value: Float, correct: Int, count: Int, carry: Tensor? = nil) {
        self.loss = loss; self.value = value; self.correct = correct; self.count = count; self.carry = carry
    }
}

/// How a space scores architectures on held-out data (accuracy: higher is better; perplexity: lower).
public struct ScoreKind: Sendable, Equatable {
    public var name: String
    public var higherIsBetter: Bool
    public static let accuracy = ScoreKind(name: "accuracy", higherIsBetter: true)
    public static let perplexity = ScoreKind(name: "perplexity", higherIsBetter: false)
    /// Whether `a` is strictly better than `b`.
    public func better(_ a: Float, _ b: Float) -> Bool { higherIsBetter ? a > b : a < b }
}

/// An architecture's held-out score (accuracy or perplexity) and mean loss.
public struct ArchScore: Sendable, Equatable {
    public var value: Float
    public var loss: Float
    public init(value: Float, loss: Float) { self.value = value; self.loss = loss }
}

/// What every space needs beside its own options: the data, sizes of batches and epochs, seed.
public struct SpaceSetup: Sendable {
    public var data: String
    public var seed: UInt64
    public var batch: Int
    public var evalBatch: Int
    /// Steps per epoch at most (0: all).
    public var maxSteps: Int
    /// Whether uniform sampling may draw `none`.
    public var allowNone: Bool
    public init(data: String, seed: UInt64, batch: Int, evalBatch: Int, maxSteps: Int, allowNone: Bool) {
        self.data = data; self.seed = seed; self.batch = batch; self.evalBatch = evalBatch; self.maxSteps = maxSteps; self.allowNone = allowNone
    }
}

/// The training defaults a space brings (everything else is common to all spaces).
public struct SpaceDefaults: Sendable {
    public var batch: Int, evalBatch: Int
    public var lr: Float, lrMin: Float, momentum: Float, weightDecay: Float, clip: Float
    /// Cosine annealing from lr to lrMin (true) or a constant rate.
    public var cosine: Bool
    public var recentSize: Int
    /// Random search at the end: candidates, batches each is scored on and their size (nil: the eval batch).
    public var searchSamples: Int, searchBatches: Int, searchBatchSize: Int?
    /// Whether uniform sampling draws `none`.
    public var allowNone: Bool
    public init(batch: Int, evalBatch: Int, lr: Float, lrMin: Float, momentum: Float, weightDecay: Float, clip: Float,
                cosine: Bool, recentSize: Int, searchSamples: Int, searchBatches: Int, searchBatchSize: Int?, allowNone: Bool) {
        self.batch = batch; self.evalBatch = evalBatch; self.lr = lr; self.lrMin = lrMin; self.momentum = momentum
        self.weightDecay = weightDecay; self.clip = clip; self.cosine = cosine; self.recentSize = recentSize
        self.searchSamples = searchSamples; self.searchBatches = searchBatches; self.searchBatchSize = searchBatchSize; self.allowNone = allowNone
    }
}

/// A search space bound to its data and its weight-sharing supernet: the architectures
/// (`Arch`, a primitive list of its own, a uniform sampler, GDAS logits to genotype), the data
/// it trains on and scores with, and a training-mode loss of any path. Search methods and the
/// search loop (NSASTrain) are written once against this protocol; a new space is a folder
/// with one type conforming to it and one line in `SpaceRegistry`.
public protocol SearchSpace: AnyObject {
    associatedtype Arch: Architecture
    associatedtype Batch
    /// The space's own options (network size and the like), stored in every checkpoint.
    associatedtype Options: Codable, Hashable, Sendable
    /// Loaded data, shared between instances (ranking every epoch of a run loads it once).
    associatedtype Data

    static var id: SpaceID { get }
    /// Op names in the order GDAS logits use (the space's `PRIMITIVES`).
    static var primitives: [String] { get }
    static var score: ScoreKind { get }
    /// Defaults of searches (`standalone` false) and stand-alone training.
    static func defaults(standalone: Bool) -> (SpaceDefaults, Options)
    /// Checks options before anything is built (one line naming the option).
    static func validate(_ options: Options) throws
    static func loadData(_ options: Options, setup: SpaceSetup) throws -> Data
    /// A lower bound of the bytes a network of `options` needs (a supernet or a stand-alone
    /// network; training with `batch`, or evaluating), checked against `MemoryBudget` before building.
    static func memoryEstimate(_ options: Options, data: Data, batch: Int, training: Bool, supernet: Bool) -> Double
    /// A uniformly sampled architecture.
    static func sample(_ options: Options, allowNone: Bool, _ rng: inout RNG) -> Arch
    /// Every architecture of a finite space, in a fixed order (nil: the space is too large to list).
    static func all(_ options: Options) -> [Arch]?
    /// Checks that the supernet of `options` holds `arch` (its node count): one line if not.
    static func check(_ arch: Arch, options: Options) throws
    /// Names of the cell types (`normal`, `reduce`; `recurrent`), as `PathSite.cellType` indexes them.
    static var cellTypes: [String] { get }
    /// The (cell type, edge, op) sites an architecture's path trains.
    static func sites(_ arch: Arch) -> [PathSite]
    /// The site a supernet tensor belongs to (by its checkpoint name), with the cell index; nil for
    /// tensors of no single op (stem, preprocessing, classifier, shared recurrent weights).
    static func site(ofTensor name: String, options: Options) -> (site: PathSite, cell: Int)?
    /// The final genotype of GDAS logits (one tensor per cell type, edges x primitives).
    static func genotype(logits: [Tensor], options: Options) throws -> Arch
    /// Logits rows per cell type (GDAS).
    static func edgeCounts(_ options: Options) -> [Int]
    /// A GDAS path as one line of a checkpoint's `paths` section.
    static func pathText(_ path: EdgeOps, options: Options) -> String

    /// Builds the supernet from the `initialization` stream.
    init(options: Options, setup: SpaceSetup, data: Data, streams: RandomStreams) throws
    var options: Options { get }
    var data: Data { get }
    /// The data set's name, for logs and checkpoints.
    var dataName: String { get }
    /// A fingerprint of the loaded data, recorded in checkpoints and compared on resume.
    var dataFingerprint: String { get }
    var parameters: [Tensor] { get }
    /// Every weight and buffer by checkpoint name.
    func named() -> [(String, Tensor)]
    /// One line for the start of a run: network size, parameters.
    var summary: String { get }
    /// The network configuration, for checkpoints (informational).
    var networkJSON: [String: Any] { get }
    /// "images" or "tokens": what `PathLoss.count` counts.
    var unit: String { get }

    /// Starts epoch `epoch` (0-based); returns its number of steps.
    func beginEpoch(_ epoch: Int, streams: RandomStreams) throws -> Int
    func trainBatch(_ step: Int, streams: RandomStreams) throws -> Batch
    /// A held-out batch for an architecture step (GDAS).
    func heldoutBatch(_ step: Int, streams: RandomStreams) throws -> Batch
    /// Training-mode forward and loss; `regularized` adds the space's training regularisers.
    func loss(_ path: Path<Arch>, _ batch: Batch, regularized: Bool) throws -> PathLoss
    /// After a batch's update: keep what the next batch continues from (a hidden state).
    func commit(_ result: PathLoss, of batch: Batch)
    /// Held-out score with the current weights, on `batches` batches (of `batchSize`, default the
    /// eval batch) or all.
    func score(_ arch: Arch, batches: Int?, batchSize: Int?) throws -> ArchScore
    /// Recomputes the BN statistics on `arch`'s path from the first `batches` training batches.
    func recalibrate(_ arch: Arch, batches: Int) throws
    /// A batch that several paths will train on (NSAS): what no architecture changes is computed
    /// once, here; `finishShared` back-propagates it once after every path's loss has been.
    /// `planned` are paths that will run on it (after any others): a space may compute once what
    /// they share with each other or with a path run first.
    func shared(_ batch: Batch, planned: [Path<Arch>]) throws -> Batch
    func finishShared(_ batch: Batch) throws
}

extension SearchSpace {
    public func score(_ arch: Arch, batches: Int?) throws -> ArchScore { try score(arch, batches: batches, batchSize: nil) }

    /// By default a space is too large to list.
    public static func all(_ options: Options) -> [Arch]? { nil }

    /// By default nothing is shared.
    public func shared(_ batch: Batch, planned: [Path<Arch>]) throws -> Batch { batch }
    public func finishShared(_ batch: Batch) throws {}

    public func sample(_ rng: inout RNG, allowNone: Bool) -> Arch { Self.sample(options, allowNone: allowNone, &rng) }

    /// Checks a GDAS path against the space: one row per cell type, one op per edge, op indices in range.
    public static func check(_ path: EdgeOps, options: Options) throws {
        let counts = edgeCounts(options)
        guard path.cells.map(\.count) == counts, path.cells.allSatisfy({ $0.allSatisfy { primitives.indices.contains($0) } }) else {
            throw SearchSpaceError.genotype("a path of \(path.cells.map(\.count)) edges with ops \(path.cells.joined().min() ?? 0)..\(path.cells.joined().max() ?? 0) does not fit this space (\(counts) edges, \(primitives.count) ops)")
        }
    }
    public func check(_ arch: Arch) throws { try Self.check(arch, options: options) }

    /// Sites of one line of a checkpoint's `paths` section: a single path (the space's one-line
    /// form), several joined by " + " (RandomNAS --paths-per-step), or a GDAS all-edges path
    /// (every edge of every cell type, in edge order).
    public static func sites(pathLine line: String) throws -> [PathSite] {
        if line.hasPrefix(EdgeOps.prefix) {
            var body = String(line.dropFirst(EdgeOps.prefix.count))
            if let colon = body.firstIndex(of: ":"), !body[..<colon].contains("~") { body = String(body[body.index(after: colon)...]) }
            return body.components(separatedBy: "||").enumerated().flatMap { t, block in
                block.split(separator: "|").enumerated().map { e, item in
                    PathSite(cellType: t, edge: e, op: String(item.split(separator: "~").first ?? ""))
                }
            }
        }
        return try line.components(separatedBy: " + ").flatMap { sites(try Arch(parsing: $0)) }
    }
}

/// Named random streams of a run (`initialization`, `sampling`, `data`, ...): each derived from the
/// run's seed and its name, so a method that draws from one stream never shifts another (runs
/// of different methods with one seed share initial weights, data order and sampled paths).
public final class RandomStreams {
    public let seed: UInt64
    var streams: [String: RNG] = [:]

    public init(seed: UInt64) { self.seed = seed }

    public static let initialization = "initialization", sampling = "sampling", data = "data", dropout = "dropout",
                      heldout = "heldout", gumbel = "gumbel", archive = "archive", selection = "selection", logits = "logits"

    /// FNV-1a of the name, mixed with the seed (RNG(seed:) runs SplitMix on it).
    static func derive(_ seed: UInt64, _ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return seed ^ h
    }

    public subscript(_ name: String) -> RNG {
        get { streams[name] ?? RNG(seed: Self.derive(seed, name)) }
        set { streams[name] = newValue }
    }

    /// The states of the streams used so far, by name.
    public var states: [String: [UInt64]] { streams.mapValues(\.state) }

    public func restore(_ states: [String: [UInt64]]) throws {
        streams = try states.mapValues { try RNG(state: $0) }
    }
}

extension Architecture {
    /// The architectures of a file, one a line in any of the space's text forms; blank lines and
    /// lines starting with # are skipped, CRLF line ends accepted. Errors name the file and line.
    public static func list(fromFile path: String) throws -> [Self] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SearchSpaceError.file("\(path): cannot be read")
        }
        let list = try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { n, line -> Self? in
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty || t.hasPrefix("#") { return nil }
            do { return try Self(parsing: t) } catch { throw SearchSpaceError.file("\(path):\(n + 1): \(error)") }
        }
        guard !list.isEmpty else { throw SearchSpaceError.file("\(path): no genotypes") }
        return list
    }
}
