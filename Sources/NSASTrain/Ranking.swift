import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// Scores architectures with weights inherited from a supernet checkpoint, on the held-out split
/// the search never trained on (the run's own split, rebuilt from its recorded options).
public final class InheritedRanker {
    public let supernet: Supernet
    public let config: TrainConfig
    public let data: DataSplits
    let batcher: Batcher

    public init(checkpoint path: String, data: DataSplits? = nil) throws {
        let f = try CheckpointFile(path)
        let saved = try f.json("config", as: RunCheckpointer.Config.self)
        guard saved.train.method != .standalone else {
            throw CheckpointError(path, "is a stand-alone network's checkpoint; nsas-rank needs a supernet")
        }
        config = saved.train
        var rng = RNG(seed: 0)
        supernet = try Supernet(saved.network, rng: &rng)
        try RunRestore.load(f.tensors("weights"), into: supernet.named(), path: path, section: "weights")
        self.data = try data ?? DataSource.load(saved.train.data, seed: saved.train.seed, heldoutFraction: saved.train.heldoutFraction)
        batcher = Batcher(self.data)
    }

    /// Held-out accuracy and loss of each architecture, on `valBatches` batches or the whole split.
    /// BN: with `bnRecalibrate` = 0 each op's running statistics as training left them (what the
    /// reference code does); with B > 0 the statistics of every BN layer on the architecture's path
    /// are first recomputed as the plain average over the first B training batches (fixed order, no
    /// augmentation, the search's batch size), the same batches for every architecture.
    public func score(_ archs: [Genotype], valBatches: Int?, batchSize: Int, bnRecalibrate: Int = 0,
                      progress: (Int) -> Void = { _ in }) throws -> [(accuracy: Float, loss: Float)] {
        let calibration = try recalibrationBatches(bnRecalibrate)
        return try archs.enumerated().map { i, arch in
            defer { progress(i + 1) }
            if !calibration.isEmpty {
                let ctx = ForwardContext(training: true, recalibration: BNRecalibration())
                for x in calibration { _ = try withNoGrad { try supernet.forward(x, arch: arch, ctx) } }
            }
            return try evaluate(data.heldout, batcher: batcher, batchSize: batchSize, maxBatches: valBatches) {
                try supernet.forward($0, arch: arch, ForwardContext(training: false))
            }
        }
    }

    /// The first `count` training batches in order, unaugmented.
    func recalibrationBatches(_ count: Int) throws -> [Tensor] {
        guard count > 0 else { return [] }
        var rng = RNG(seed: 0)
        let order = Batcher.order(count: data.train.count, batchSize: config.batch, shuffle: false, dropLast: true, rng: &rng)
        guard order.count >= count else {
            throw TrainError.config("--bn-recalibrate \(count): the training split has only \(order.count) batches of \(config.batch)")
        }
        return order.prefix(count).map { batcher.batch(data.train, $0, rng: &rng).0 }
    }
}

/// Ranking tables: `arch,accuracy,loss,rank` (and `epoch`), sharding and merging.
public enum RankingTable {
    /// The architectures of a shard `i` of `n` (i in 0..<n): every n-th from position i.
    public static func shard<T>(_ items: [T], index: Int, of count: Int) -> [T] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    /// Rows with ranks (1 = best accuracy, ties by lower loss, then by text), per epoch.
    public static func table(_ rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)]) -> CSVTable {
        let withEpoch = rows.contains { $0.epoch != nil }
        var out: [[String]] = []
        for epoch in Set(rows.map { $0.epoch ?? 0 }).sorted() {
            let group = rows.filter { ($0.epoch ?? 0) == epoch }
                .sorted { ($0.accuracy, -$0.loss, $1.arch) > ($1.accuracy, -$1.loss, $0.arch) }
            for (r, row) in group.enumerated() {
                var fields = [row.arch, String(row.accuracy), String(row.loss), String(r + 1)]
                if withEpoch { fields.append(String(epoch)) }
                out.append(fields)
            }
        }
        return CSVTable(header: ["arch", "accuracy", "loss", "rank"] + (withEpoch ? ["epoch"] : []), rows: out)
    }

    /// Joins shard tables and ranks them again.
    public static func merge(_ parts: [(CSVTable, String)]) throws -> CSVTable {
        var rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] = []
        for (t, path) in parts {
            let a = try t.column("arch", path: path), acc = try t.column("accuracy", path: path), l = try t.column("loss", path: path)
            let e = t.header.firstIndex(of: "epoch")
            for (line, r) in t.rows.enumerated() {
                guard let accuracy = Float(r[acc]), let loss = Float(r[l]) else {
                    throw CSVTable.CSVError.notANumber(path: path, line: line + 2, column: "accuracy/loss", value: r[acc] + "/" + r[l])
                }
                rows.append((r[a], accuracy, loss, e.flatMap { Int(r[$0]) }))
            }
        }
        return table(rows)
    }
}

/// The genotype a checkpoint stands for, for drawing: a GDAS (or GDAS-NSAS) search's argmax of its
/// architecture logits; for RandomNAS, NSAS and WPL the genotype the search selected, when the
/// checkpoint is the run's final one and its metrics.jsonl records the selection; a stand-alone
/// run's own genotype.
public enum CheckpointGenotype {
    public static func load(_ path: String) throws -> (genotype: Genotype, how: String) {
        let f = try CheckpointFile(path)
        let saved = try f.json("config", as: RunCheckpointer.Config.self)
        if f.has("arch") {
            let arch = Dictionary(try f.tensors("arch").map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            guard let n = arch["alpha_normal"], let r = arch["alpha_reduce"] else {
                throw CheckpointError(path, section: "arch", "lacks alpha_normal or alpha_reduce")
            }
            let nodes = saved.network.nodes
            let g = try Genotype(normal: Gumbel.cell(try Tensor(n.values, shape: n.shape), nodes: nodes),
                                 reduce: Gumbel.cell(try Tensor(r.values, shape: r.shape), nodes: nodes))
            return (g, "argmax of the architecture logits")
        }
        if let text = saved.train.genotype, saved.train.method == .standalone {
            return (try Genotype(parsing: text), "the stand-alone network's genotype")
        }
        let state = try f.json("state", as: RunCheckpointer.State.self)
        let metrics = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("metrics.jsonl")
        if state.epoch == saved.train.epochs, let data = FileManager.default.contents(atPath: metrics), let text = String(data: data, encoding: .utf8) {
            for line in text.split(separator: "\n").reversed() {
                if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], obj["event"] as? String == "selection",
                   let g = obj["genotype"] as? String {
                    return (try Genotype(parsing: g), "the genotype the search selected (\(metrics))")
                }
            }
        }
        throw CheckpointError(path, "is a \(saved.train.method.rawValue) checkpoint of epoch \(state.epoch) with no selected genotype (RandomNAS-style searches select at the end); rank it with `nsas-rank --checkpoint \(path) --sample 100 --out r.csv` and draw with `--from r.csv --top 1`")
    }
}
