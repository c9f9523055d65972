import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASSearchSpace
import NSASTensor

/// Scores architectures with the weights of a supernet checkpoint, any space.
public protocol AnyRanker: AnyObject {
    var score: ScoreKind { get }
    var space: SpaceID { get }
    /// The loaded data, to share with the next checkpoint of the same run.
    var data: Any { get }
    /// The completed epoch of the checkpoint.
    var epoch: Int { get }
    /// Held-out score of each architecture (texts in any of the space's forms): canonical key and score.
    /// BN: with `bnRecalibrate` 0 each op's running statistics as training left them (what the
    /// reference code does); with B > 0 the statistics of every BN layer on the architecture's path
    /// are first recomputed as the plain average over the first B training batches (fixed order, no
    /// augmentation, the search's batch size), the same batches for every architecture.
    func score(_ archs: [String], valBatches: Int?, bnRecalibrate: Int, progress: (Int) -> Void) throws -> [(arch: String, score: ArchScore)]
}

/// Inherited-weight ranking from a checkpoint: the space rebuilt from the run's recorded options
/// on its own held-out split (which the search never trained on), the weights loaded by name.
public final class InheritedRanker<S: SearchSpace>: AnyRanker {
    public let supernet: S
    public let epoch: Int

    init(_ f: CheckpointFile, config: RunConfig, data: Any?) throws {
        let options = try config.options(S.self)
        let loaded = try (data as? S.Data) ?? S.loadData(options, setup: config.setup)
        try S.checkMemory(options, data: loaded, setup: config.setup, supernet: true, training: false)
        supernet = try S(options: options, setup: config.setup, data: loaded, streams: RandomStreams(seed: config.seed))
        try RunSchema.load(f.tensors("weights"), into: supernet.named(), path: f.path, section: "weights")
        epoch = try RunSchema.state(f).epoch
    }

    public var score: ScoreKind { S.score }
    public var space: SpaceID { S.id }
    public var data: Any { supernet.data }

    public func score(_ archs: [String], valBatches: Int?, bnRecalibrate: Int, progress: (Int) -> Void) throws -> [(arch: String, score: ArchScore)] {
        let parsed = try archs.map { try S.Arch(parsing: $0) }
        for a in parsed { try supernet.check(a) }
        return try parsed.enumerated().map { i, a in
            defer { progress(i + 1) }
            if bnRecalibrate > 0 { try supernet.recalibrate(a, batches: bnRecalibrate) }
            return (a.canonical, try supernet.score(a, batches: valBatches))
        }
    }
}

public enum Ranking {
    /// A ranker for a supernet checkpoint; `evalBatch` overrides the run's scoring batch size.
    public static func open(checkpoint path: String, evalBatch: Int? = nil, data: Any? = nil) throws -> any AnyRanker {
        let f = try CheckpointFile(path)
        var c = try RunSchema.config(f).run
        guard c.method != .standalone else { throw CheckpointError(path, "is a stand-alone network's checkpoint; nsas-rank needs a supernet") }
        if let evalBatch { c.evalBatch = evalBatch }
        return try open(SpaceRegistry.type(c.space), f, c, data)
    }

    static func open<S: SearchSpace>(_ type: S.Type, _ f: CheckpointFile, _ c: RunConfig, _ data: Any?) throws -> any AnyRanker {
        try InheritedRanker<S>(f, config: c, data: data)
    }

    /// `n` distinct random architectures of a space (canonical keys), as its uniform sampler draws them.
    public static func sample(space: SpaceID, options: JSONValue? = nil, count: Int, seed: UInt64, allowNone: Bool, full: Bool = false) throws -> [String] {
        try sample(SpaceRegistry.type(space), options, count, seed, allowNone, full)
    }

    static func sample<S: SearchSpace>(_ t: S.Type, _ o: JSONValue?, _ count: Int, _ seed: UInt64, _ allowNone: Bool, _ full: Bool) throws -> [String] {
        let options = try o.map { try $0.decode(S.Options.self) } ?? S.defaults(standalone: false).1
        if let all = S.all(options), count > all.count {
            throw RunError.config("the \(S.id) space has \(all.count) architectures; cannot draw \(count) distinct ones (--all ranks every one)")
        }
        var rng = RNG(seed: seed)
        var seen = Set<String>(), out: [String] = []
        var draws = 0
        while out.count < count {
            let a = S.sample(options, allowNone: allowNone, &rng)
            draws += 1
            if draws > count * 1000 + 1000 { throw RunError.config("could not draw \(count) distinct architectures") }
            if seen.insert(a.canonical).inserted { out.append(full ? a.description : a.canonical) }
        }
        return out
    }
}

extension Ranking {
    /// Every architecture of a finite space (NAS-Bench-201's 15,625), in the space's order.
    public static func all(space: SpaceID, options: JSONValue? = nil, full: Bool = false) throws -> [String] {
        try all(SpaceRegistry.type(space), options, full)
    }

    static func all<S: SearchSpace>(_ t: S.Type, _ o: JSONValue?, _ full: Bool) throws -> [String] {
        let options = try o.map { try $0.decode(S.Options.self) } ?? S.defaults(standalone: false).1
        guard let all = S.all(options) else {
            throw RunError.config("the \(S.id) space has too many architectures to rank them all; give --sample N or --archs FILE")
        }
        return all.map { full ? $0.description : $0.canonical }
    }
}

/// Ranking tables: `arch,<score>,loss,rank` (and `epoch`), sharding and merging.
public enum RankingTable {
    /// The architectures of a shard `i` of `n` (i in 0..<n): every n-th from position i.
    public static func shard<T>(_ items: [T], index: Int, of count: Int) -> [T] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    /// Rows with ranks (1 = best score, ties by lower loss, then by text), per epoch. `score`
    /// names the column: `perplexity` ranks lowest first, anything else highest first.
    public static func table(_ rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)], score: String = "accuracy") -> CSVTable {
        let sign: Float = score == "perplexity" ? -1 : 1
        let withEpoch = rows.contains { $0.epoch != nil }
        var out: [[String]] = []
        for epoch in Set(rows.map { $0.epoch ?? 0 }).sorted() {
            let group = rows.filter { ($0.epoch ?? 0) == epoch }
                .sorted { (sign * $0.accuracy, -$0.loss, $1.arch) > (sign * $1.accuracy, -$1.loss, $0.arch) }
            for (r, row) in group.enumerated() {
                var fields = [row.arch, String(row.accuracy), String(row.loss), String(r + 1)]
                if withEpoch { fields.append(String(epoch)) }
                out.append(fields)
            }
        }
        return CSVTable(header: ["arch", score, "loss", "rank"] + (withEpoch ? ["epoch"] : []), rows: out)
    }

    /// Joins shard tables and ranks them again.
    public static func merge(_ parts: [(CSVTable, String)]) throws -> CSVTable {
        var rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] = []
        let score = parts.first.map { $0.0.header.contains("perplexity") ? "perplexity" : "accuracy" } ?? "accuracy"
        for (t, path) in parts {
            let a = try t.column("arch", path: path), acc = try t.column(score, path: path), l = try t.column("loss", path: path)
            let e = t.header.firstIndex(of: "epoch")
            for (line, r) in t.rows.enumerated() {
                guard let accuracy = Float(r[acc]), let loss = Float(r[l]) else {
                    throw CSVTable.CSVError.notANumber(path: path, line: line + 2, column: "\(score)/loss", value: r[acc] + "/" + r[l])
                }
                rows.append((r[a], accuracy, loss, e.flatMap { Int(r[$0]) }))
            }
        }
        return table(rows, score: score)
    }
}
