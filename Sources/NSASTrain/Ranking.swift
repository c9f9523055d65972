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
/// Scores recurrent genotypes by validation perplexity with weights inherited from an RNN
/// supernet checkpoint (no dropout, hidden state carried across windows).
public final class RNNInheritedRanker {
    public let network: RecurrentNetwork
    public let config: RNNTrainConfig
    public let corpus: Corpus

    public init(checkpoint path: String, corpus: Corpus? = nil) throws {
        let f = try CheckpointFile(path)
        let saved = try f.json("config", as: RNNSearchTrainer.Config.self)
        config = saved.train
        self.corpus = try corpus ?? Corpus.load(saved.train.data)
        guard self.corpus.vocabularySize == saved.network.vocabulary else {
            throw CheckpointError(path, section: "config", "was trained on a vocabulary of \(saved.network.vocabulary) words, \(self.corpus.name) has \(self.corpus.vocabularySize)")
        }
        var rng = RNG(seed: 0)
        network = try RecurrentNetwork(saved.network, rng: &rng)
        try RunRestore.load(f.tensors("weights"), into: network.named(), path: path, section: "weights")
    }

    /// Validation perplexity and loss (nats per word) of each genotype on `valBatches` bptt windows or all.
    public func score(_ archs: [RecurrentGenotype], valBatches: Int?, progress: (Int) -> Void = { _ in }) throws -> [(perplexity: Float, loss: Float)] {
        try archs.enumerated().map { i, g in
            defer { progress(i + 1) }
            let l = try TextEval.loss(network, g, stream: corpus.valid, batch: config.evalBatch, bptt: config.bptt, maxBatches: valBatches)
            return (Float(exp(l)), Float(l))
        }
    }
}

public enum RankingTable {
    /// The architectures of a shard `i` of `n` (i in 0..<n): every n-th from position i.
    public static func shard<T>(_ items: [T], index: Int, of count: Int) -> [T] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    /// Rows with ranks (1 = best accuracy, ties by lower loss, then by text), per epoch.
    public static func table(_ rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)]) -> CSVTable {
        table(rows, score: "accuracy")
    }

    /// The same for any score column: `perplexity` ranks lowest first, anything else highest first.
    public static func table(_ rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)], score: String) -> CSVTable {
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

/// The genotype a checkpoint stands for, for drawing: a GDAS (or GDAS-NSAS) search's argmax of its
/// architecture logits; for RandomNAS, NSAS and WPL the genotype the search selected, when the
/// checkpoint is the run's final one and its metrics.jsonl records the selection; a stand-alone
/// run's own genotype.
public enum CheckpointGenotype {
    /// The selection record of a finished run, when `path` is its final checkpoint.
    static func selected(_ path: String, epoch: Int, epochs: Int) -> (String, String)? {
        let metrics = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("metrics.jsonl")
        guard epoch == epochs, let data = FileManager.default.contents(atPath: metrics), let text = String(data: data, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n").reversed() {
            if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], obj["event"] as? String == "selection",
               let g = obj["genotype"] as? String {
                return (g, "the genotype the search selected (\(metrics))")
            }
        }
        return nil
    }

    /// Either space: RNN checkpoints give their selected recurrent genotype.
    public static func loadAny(_ path: String) throws -> (genotype: AnyGenotype, how: String) {
        let f = try CheckpointFile(path)
        if RNNSearchTrainer.isRNN(f) {
            let saved = try f.json("config", as: RNNSearchTrainer.Config.self)
            if f.has("arch"), let a = try f.tensors("arch").first(where: { $0.name == "alpha_recurrent" }) {
                return (.rnn(try RNNGDASTrainer.genotype(try Tensor(a.values, shape: a.shape), nodes: saved.network.nodes)), "argmax of the architecture logits")
            }
            let state = try f.json("state", as: RunCheckpointer.State.self)
            guard let (text, how) = selected(path, epoch: state.epoch, epochs: saved.train.epochs) else {
                throw CheckpointError(path, "is an RNN \(saved.train.method.rawValue) checkpoint of epoch \(state.epoch) with no selected genotype (the search selects at the end); rank it with `nsas-rank --checkpoint \(path) --sample 100 --out r.csv` and draw with `--from r.csv --top 1`")
            }
            return (.rnn(try RecurrentGenotype(parsing: text)), how)
        }
        let (g, how) = try load(path)
        return (.cnn(g), how)
    }

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
        if let (text, how) = selected(path, epoch: state.epoch, epochs: saved.train.epochs) { return (try Genotype(parsing: text), how) }
        throw CheckpointError(path, "is a \(saved.train.method.rawValue) checkpoint of epoch \(state.epoch) with no selected genotype (RandomNAS-style searches select at the end); rank it with `nsas-rank --checkpoint \(path) --sample 100 --out r.csv` and draw with `--from r.csv --top 1`")
    }
}
