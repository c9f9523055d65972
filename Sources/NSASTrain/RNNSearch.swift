import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// Options of a run in the DARTS RNN space; defaults are the DARTS PTB search settings
/// (SPEC.md section 2): 300/300, batch 256, bptt 35, SGD lr 20 without momentum, clip 0.25,
/// weight decay 5e-7, TAR 1e-3, dropouts 0.75/0.25/0.75/0.2/0. `standalone()` gives the
/// stand-alone (evaluation) settings.
public struct RNNTrainConfig: Codable, Hashable, Sendable {
    public var space = "rnn"
    public var method: Method = .randomnas
    public var data: String = ""
    public var epochs = 5
    public var hidden = 300
    public var nodes = 8
    public var batch = 256
    public var evalBatch = 10
    public var bptt = 35
    public var seed: UInt64 = 0
    public var lr: Float = 20
    public var clip: Float = 0.25
    public var weightDecay: Float = 5e-7
    /// Temporal activation regularisation weight (beta).
    public var tar: Float = 1e-3
    public var dropout: Float = 0.75, dropoutH: Float = 0.25, dropoutX: Float = 0.75, dropoutI: Float = 0.2, dropoutE: Float = 0
    public var maxSteps = 0
    public var backend = "blas"
    // RandomNAS selection by validation perplexity.
    public var searchSamples = 50
    /// Validation batches (of bptt steps) each sample is scored on.
    public var searchBatches = 10
    public var searchTop = 10
    public var allowNone = false
    // NSAS (the RNN recent list is 20 long, SPEC.md section 4).
    public var nsasBeta: Float = 1
    public var archiveSize = 4
    public var recentSize = 20
    public var knnK = 10
    public var noveltyDraws = 10
    public var constraintReduction: ConstraintReduction = .mean
    // WPL and GDAS.
    public var wplEps: Float = 1
    public var wplStepsPerPath = 4
    public var wplFisherDecay: Float = 0.9
    public var tauMax: Float = 10, tauMin: Float = 0.1
    // Stand-alone.
    public var genotype: String? = nil
    /// Switch to averaged SGD once validation perplexity has not improved for `nonmono` epochs.
    public var asgd = true
    public var nonmono = 5

    public init() {}

    /// The DARTS stand-alone settings (850/850, batch 64, word dropout 0.1, weight decay 8e-7).
    public static func standalone() -> RNNTrainConfig {
        var c = RNNTrainConfig()
        c.method = .standalone; c.hidden = 850; c.batch = 64; c.dropoutE = 0.1; c.weightDecay = 8e-7
        return c
    }

    public func network(vocabulary: Int) -> RNNConfig {
        RNNConfig(vocabulary: vocabulary, hidden: hidden, nodes: nodes, dropout: dropout, dropoutH: dropoutH,
                  dropoutX: dropoutX, dropoutI: dropoutI, dropoutE: dropoutE)
    }

    public func validate() throws {
        if method == .wpl { guard wplStepsPerPath >= 1, wplEps >= 0, (0..<1).contains(wplFisherDecay) else { throw TrainError.config("WPL needs steps per path >= 1, eps >= 0 and a Fisher decay in [0, 1)") } }
        guard tauMax > 0, tauMin > 0 else { throw TrainError.config("GDAS temperatures must be positive") }
        guard epochs >= 1, batch >= 1, evalBatch >= 1, bptt >= 1, hidden >= 1, nodes >= 1 else {
            throw TrainError.config("epochs, batch, eval batch, bptt, hidden and nodes must be at least 1")
        }
        guard lr > 0, clip > 0, weightDecay >= 0, tar >= 0 else { throw TrainError.config("lr and clip must be positive, weight decay and tar not negative") }
        if method == .nsas { guard archiveSize >= 1, recentSize >= 1, knnK >= 1, noveltyDraws >= 1 else { throw TrainError.config("NSAS sizes must be at least 1") } }
        if method == .standalone, genotype == nil { throw TrainError.config("--method standalone needs --genotype") }
        try network(vocabulary: 2).validate()
    }

    /// Tolerant decoding: options an older nsas did not write take their defaults.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ k: CodingKeys, _ v: inout T) throws { if let x = try c.decodeIfPresent(T.self, forKey: k) { v = x } }
        try get(.space, &space); try get(.method, &method); try get(.data, &data); try get(.epochs, &epochs); try get(.hidden, &hidden)
        try get(.nodes, &nodes); try get(.batch, &batch); try get(.evalBatch, &evalBatch); try get(.bptt, &bptt); try get(.seed, &seed)
        try get(.lr, &lr); try get(.clip, &clip); try get(.weightDecay, &weightDecay); try get(.tar, &tar); try get(.dropout, &dropout)
        try get(.dropoutH, &dropoutH); try get(.dropoutX, &dropoutX); try get(.dropoutI, &dropoutI); try get(.dropoutE, &dropoutE)
        try get(.maxSteps, &maxSteps); try get(.backend, &backend); try get(.searchSamples, &searchSamples)
        try get(.searchBatches, &searchBatches); try get(.searchTop, &searchTop); try get(.allowNone, &allowNone)
        try get(.nsasBeta, &nsasBeta); try get(.archiveSize, &archiveSize); try get(.recentSize, &recentSize); try get(.knnK, &knnK)
        try get(.noveltyDraws, &noveltyDraws); try get(.constraintReduction, &constraintReduction); try get(.genotype, &genotype)
        try get(.asgd, &asgd); try get(.nonmono, &nonmono); try get(.wplEps, &wplEps); try get(.wplStepsPerPath, &wplStepsPerPath)
        try get(.wplFisherDecay, &wplFisherDecay); try get(.tauMax, &tauMax); try get(.tauMin, &tauMin)
    }
}

extension RecurrentGenotype: Archivable {
    /// 1 - matching nodes / nodes; a node matches with the same predecessor and op.
    public func distance(to other: RecurrentGenotype) -> Double {
        1 - Double(zip(recurrent, other.recurrent).filter { $0 == $1 }.count) / Double(max(recurrent.count, 1))
    }
}

/// Language-model evaluation and batches over a token stream.
public enum TextEval {
    /// (inputs, targets, steps) of the i-th bptt window of a batchified stream.
    static func window(_ data: (rows: Int, data: [Int32]), batch: Int, start: Int, bptt: Int) -> ([Int32], [Int32], Int) {
        let steps = min(bptt, data.rows - 1 - start)
        let x = Array(data.data[(start * batch)..<((start + steps) * batch)])
        let y = Array(data.data[((start + 1) * batch)..<((start + 1 + steps) * batch)])
        return (x, y, steps)
    }

    /// Mean cross-entropy per token (nats) of `g` on a stream, hidden state carried, no dropout;
    /// `maxBatches` bptt windows at most. Perplexity is exp of it.
    public static func loss(_ net: RecurrentNetwork, _ g: RecurrentGenotype, stream: [Int32], batch: Int, bptt: Int,
                            maxBatches: Int? = nil) throws -> Double {
        let data = Corpus.batchify(stream, batch: batch)
        guard data.rows >= 2 else { throw TrainError.config("the evaluation text is too short for batch \(batch)") }
        var h = net.initialHidden(batch: batch)
        var total = 0.0, count = 0, windows = 0
        var start = 0
        while start < data.rows - 1, maxBatches.map({ windows < $0 }) ?? true {
            let (x, y, steps) = window(data, batch: batch, start: start, bptt: bptt)
            let out = try withNoGrad {
                try net.forward(tokens: x, targets: y, steps: steps, batch: batch, hidden: h, genotype: g, masks: RecurrentMasks(), wordMask: nil)
            }
            total += Double(out.loss.item) * Double(y.count); count += y.count
            h = out.hidden.detach()
            start += steps; windows += 1
        }
        return total / Double(max(count, 1))
    }
}

/// Metrics of one RNN epoch, written like the CNN ones (metrics.jsonl, checkpoints).
public struct RNNEpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var trainPerplexity: Float
    public var validPerplexity: Float?
    public var lr: Float
    public var seconds: Double
    public var tokensPerSecond: Double

    var record: [String: Any] {
        var r: [String: Any] = ["event": "epoch", "epoch": epoch, "train_loss": trainLoss, "train_perplexity": trainPerplexity,
                                "lr": lr, "seconds": seconds, "tokens_per_s": tokensPerSecond]
        if let validPerplexity { r["valid_perplexity"] = validPerplexity }
        return r
    }
}

/// RandomNAS and RandomNAS-NSAS in the DARTS RNN space on a word-level corpus: each step one
/// uniformly sampled recurrent genotype trains on a bptt window (the hidden state carried across
/// windows, detached: truncated back-propagation through time); NSAS adds the archived
/// genotypes' losses on the same window from the same hidden state (Eq. 8). Checkpoint every
/// epoch; at the end random search by validation perplexity.
public final class RNNSearchTrainer {
    public let config: RNNTrainConfig
    public let corpus: Corpus
    public let network: RecurrentNetwork
    let sgd: SGD
    let log: RunLog
    var samplingRNG: RNG, dropoutRNG: RNG
    var archive: ConstraintArchive<RecurrentGenotype>
    var archiveRNG: RNG
    var globalStep = 0
    var epochPaths: [String] = []
    public var directory: String?
    var wpl = WPLPenalty()
    var wplPath: RecurrentGenotype?

    public init(config: RNNTrainConfig, corpus: Corpus, log: RunLog) throws {
        try config.validate()
        guard [.randomnas, .nsas, .wpl].contains(config.method) else {
            throw TrainError.config("RNNSearchTrainer runs randomnas, nsas and wpl; \(config.method.rawValue) has its own trainer")
        }
        self.config = config; self.corpus = corpus; self.log = log
        var initRNG = RNG(seed: config.seed)
        network = try RecurrentNetwork(config.network(vocabulary: corpus.vocabularySize), rng: &initRNG)
        sgd = SGD(parameters: network.parameters, lr: config.lr, momentum: 0, weightDecay: config.weightDecay)
        samplingRNG = RNG(seed: config.seed &+ 1); dropoutRNG = RNG(seed: config.seed &+ 2); archiveRNG = RNG(seed: config.seed &+ 3)
        archive = ConstraintArchive(capacity: config.archiveSize, recentCapacity: config.recentSize, k: config.knnK, draws: config.noveltyDraws)
    }

    func sample() -> RecurrentGenotype { RecurrentGenotype.sample(nodes: config.nodes, allowNone: config.allowNone, &samplingRNG) }

    /// One epoch over the training stream (at most `maxSteps` windows).
    public func trainEpoch(_ e: Int) throws -> RNNEpochMetrics {
        let data = Corpus.batchify(corpus.train, batch: config.batch)
        guard data.rows >= 2 else { throw TrainError.config("the training text is too short for batch \(config.batch)") }
        let windows = (data.rows - 1 + config.bptt - 1) / config.bptt
        let total = config.maxSteps > 0 ? min(config.maxSteps, windows) : windows
        var h = network.initialHidden(batch: config.batch)
        let start = Timing.now()
        var lossSum = 0.0, tokens = 0
        epochPaths = []
        for s in 0..<total {
            let (x, y, steps) = TextEval.window(data, batch: config.batch, start: s * config.bptt, bptt: config.bptt)
            let (masks, wordMask) = try network.masks(batch: config.batch, training: true, rng: &dropoutRNG)
            let arch: RecurrentGenotype
            if config.method == .wpl {
                // WPL: each path trains wplStepsPerPath steps; theta* = the weights when it started.
                if globalStep % config.wplStepsPerPath == 0 || wplPath == nil { wplPath = sample(); wpl.anchor(at: network.parameters) }
                arch = wplPath!
            } else {
                arch = sample()
            }
            epochPaths.append(arch.canonical)
            sgd.zeroGrad()
            func pathLoss(_ g: RecurrentGenotype, weight: Float) throws -> (Float, Tensor) {
                let out = try network.forward(tokens: x, targets: y, steps: steps, batch: config.batch, hidden: h, genotype: g,
                                              masks: masks, wordMask: wordMask)
                let loss = config.tar > 0 ? try out.loss + RecurrentNetwork.tar(out.raw, batch: config.batch).scaled(by: config.tar) : out.loss
                try (weight == 1 ? loss : loss.scaled(by: weight)).backward()
                return (out.loss.item, out.hidden)
            }
            let (loss, next) = try pathLoss(arch, weight: 1)
            if config.method == .nsas {
                if archive.isFull {
                    let w = config.nsasBeta / (config.constraintReduction == .mean ? Float(archive.members.count) : 1)
                    for m in archive.members { _ = try pathLoss(m, weight: w) }
                }
                archive.update(current: arch, step: globalStep, rng: &archiveRNG)
            }
            if config.method == .wpl { wpl.apply(network.parameters, eps: config.wplEps, decay: config.wplFisherDecay) }
            guard loss.isFinite else { throw TrainError.diverged(epoch: e + 1, step: s + 1, loss: loss) }
            clipGradNorm(network.parameters, maxNorm: config.clip)
            sgd.step()
            h = next.detach()
            globalStep += 1
            lossSum += Double(loss) * Double(y.count); tokens += y.count
            let elapsed = Timing.now() - start
            log.progress(String(format: "%@ epoch %d/%d step %d/%d loss %.4f ppl %.1f %.0f tok/s ETA %@", config.method.rawValue, e + 1, config.epochs,
                                s + 1, total, lossSum / Double(tokens), exp(lossSum / Double(tokens)), Double(tokens) / max(elapsed, 1e-9),
                                formatDuration(elapsed / Double(s + 1) * Double(total - s - 1))), step: s + 1, of: total)
        }
        let seconds = Timing.now() - start
        let mean = lossSum / Double(max(tokens, 1))
        return RNNEpochMetrics(epoch: e + 1, trainLoss: Float(mean), trainPerplexity: Float(exp(mean)), validPerplexity: nil,
                               lr: sgd.lr, seconds: seconds, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
    }

    /// Validation perplexity of a genotype with the current weights (`batches` windows, or all).
    public func perplexity(_ g: RecurrentGenotype, batches: Int? = nil) throws -> Double {
        exp(try TextEval.loss(network, g, stream: corpus.valid, batch: config.evalBatch, bptt: config.bptt, maxBatches: batches))
    }

    /// Random search: samples scored on a few validation windows, the best re-scored on all of it.
    public func select() throws -> (RecurrentGenotype, Double) {
        var rng = RNG(seed: config.seed &+ 7)
        var scored: [(RecurrentGenotype, Double)] = []
        for i in 0..<config.searchSamples {
            let g = RecurrentGenotype.sample(nodes: config.nodes, allowNone: config.allowNone, &rng)
            scored.append((g, try perplexity(g, batches: config.searchBatches)))
            log.progress("random search \(i + 1)/\(config.searchSamples)", step: i + 1, of: config.searchSamples)
        }
        var best: (RecurrentGenotype, Double)?
        for (g, _) in scored.sorted(by: { $0.1 < $1.1 }).prefix(config.searchTop) {
            let p = try perplexity(g)
            if best == nil || p < best!.1 { best = (g, p) }
        }
        return best!
    }

    public func run(startEpoch: Int = 0) throws -> (genotype: RecurrentGenotype, perplexity: Double, epochs: [RNNEpochMetrics]) {
        log.line("nsas-train \(config.method.rawValue) (RNN space): \(corpus.name), vocabulary \(corpus.vocabularySize), hidden \(config.hidden), \(network.parameterCount) parameters")
        var epochs: [RNNEpochMetrics] = []
        for e in startEpoch..<config.epochs {
            let m = try trainEpoch(e)
            epochs.append(m)
            log.record(m.record)
            var saved = ""
            if let directory {
                let (path, size) = try writeCheckpoint(epoch: m.epoch, metrics: m, directory: directory)
                saved = String(format: "; checkpoint %@ (%.1f MB)", (path as NSString).lastPathComponent, Double(size) / 1e6)
            }
            log.line(String(format: "epoch %d/%d: train loss %.4f, train perplexity %.1f, %.1f s, %.0f tokens/s%@",
                            m.epoch, config.epochs, m.trainLoss, m.trainPerplexity, m.seconds, m.tokensPerSecond, saved))
        }
        let (g, p) = try select()
        log.record(["event": "selection", "genotype": g.description, "canonical": g.canonical, "valid_perplexity": p,
                    "samples": config.searchSamples, "top": config.searchTop])
        log.line(String(format: "selected (validation perplexity %.2f with inherited weights):", p))
        log.line(g.description)
        return (g, p, epochs)
    }

    // MARK: checkpoints

    public struct Config: Codable, Sendable { public var tool: String; public var train: RNNTrainConfig; public var network: RNNConfig; public var data: String }
    struct State: Codable { var epoch: Int; var method: String; var lr: Float; var steps: Int; var globalStep: Int }
    struct RNGs: Codable { var sampling: [UInt64]; var dropout: [UInt64]; var archive: [UInt64] }

    func writeCheckpoint(epoch: Int, metrics: RNNEpochMetrics, directory: String) throws -> (String, Int) {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        var sections = [
            CheckpointWriter.Section("config", Array(try enc.encode(Config(tool: nsasVersion, train: config, network: network.config, data: corpus.name)))),
            CheckpointWriter.Section("state", Array(try enc.encode(State(epoch: epoch, method: config.method.rawValue, lr: sgd.lr, steps: epochPaths.count, globalStep: globalStep)))),
            CheckpointWriter.Section("metrics", Array(try enc.encode(metrics))),
            CheckpointWriter.Section("paths", Array(epochPaths.joined(separator: "\n").utf8)),
            CheckpointWriter.Section("rng", Array(try enc.encode(RNGs(sampling: samplingRNG.state, dropout: dropoutRNG.state, archive: archiveRNG.state)))),
            CheckpointWriter.Section("weights", TensorCodec.encode(network.named().map { StoredTensor(name: $0.0, shape: $0.1.shape, values: $0.1.array) }), codec: .zstdShuffle4),
        ]
        if config.method == .nsas { sections.append(CheckpointWriter.Section("archive", Array(try enc.encode(archive)))) }
        if config.method == .wpl { sections += try wpl.sections(network.parameters, named: network.named(), path: wplPath?.canonical, globalStep: globalStep) }
        archive.clearChanges()
        return try Self.write(sections, epoch: epoch, directory: directory)
    }

    /// Writes a checkpoint atomically and points `latest` at it.
    static func write(_ sections: [CheckpointWriter.Section], epoch: Int, directory: String) throws -> (String, Int) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CheckpointError(directory, "cannot create the run folder (\(error.localizedDescription))")
        }
        let path = (directory as NSString).appendingPathComponent(RunCheckpointer.fileName(epoch: epoch))
        let bytes = try CheckpointWriter.encode(sections)
        try CheckpointWriter.writeAtomically(bytes, to: path)
        try CheckpointWriter.writeAtomically(Array((RunCheckpointer.fileName(epoch: epoch) + "\n").utf8),
                                             to: (directory as NSString).appendingPathComponent("latest"))
        return (path, bytes.count)
    }

    /// Restores weights, generators, the archive and the step count from a checkpoint of this run;
    /// returns the epochs it completed. (Plain SGD has no optimizer state to restore.)
    public func restore(from path: String) throws -> Int {
        let f = try CheckpointFile(path)
        let saved = try f.json("config", as: Config.self)
        guard saved.network == network.config else {
            throw CheckpointError(path, section: "config", "was written for network \(saved.network), not \(network.config)")
        }
        try RunRestore.load(f.tensors("weights"), into: network.named(), path: path, section: "weights")
        let st = try f.json("state", as: State.self), r = try f.json("rng", as: RNGs.self)
        do {
            samplingRNG = try RNG(state: r.sampling); dropoutRNG = try RNG(state: r.dropout); archiveRNG = try RNG(state: r.archive)
        } catch { throw CheckpointError(path, section: "rng", "\(error)") }
        if config.method == .nsas { archive = try f.json("archive", as: ConstraintArchive<RecurrentGenotype>.self) }
        globalStep = st.globalStep
        if config.method == .wpl, let (p, _) = try wpl.restore(f, network.parameters, named: network.named()) {
            wplPath = p.isEmpty ? nil : try RecurrentGenotype(parsing: p)
        }
        return st.epoch
    }

    /// Whether a checkpoint belongs to the RNN space.
    public static func isRNN(_ f: CheckpointFile) -> Bool {
        ((try? f.json("config", as: SpaceProbe.self))?.train.space) == "rnn"
    }
    struct SpaceProbe: Decodable { struct T: Decodable { var space: String? }; var train: T }
}

/// A recurrent genotype trained from scratch (SGD lr 20, clip 0.25, batch 64; averaged SGD once
/// validation perplexity stops improving for `nonmono` epochs, as DARTS/AWD-LSTM), reporting
/// validation and test perplexity.
public final class RNNStandaloneTrainer {
    public let config: RNNTrainConfig
    public let corpus: Corpus
    public let genotype: RecurrentGenotype
    public let network: RecurrentNetwork
    let sgd: SGD
    let log: RunLog
    var dropoutRNG: RNG

    public init(genotype: RecurrentGenotype, config: RNNTrainConfig, corpus: Corpus, log: RunLog) throws {
        var c = config
        c.genotype = c.genotype ?? genotype.description
        try c.validate()
        self.config = c; self.corpus = corpus; self.genotype = genotype; self.log = log
        var initRNG = RNG(seed: c.seed)
        network = try RecurrentNetwork(c.network(vocabulary: corpus.vocabularySize), rng: &initRNG)
        sgd = SGD(parameters: network.parameters, lr: c.lr, momentum: 0, weightDecay: c.weightDecay)
        dropoutRNG = RNG(seed: c.seed &+ 2)
    }

    public func run() throws -> (valid: Double, test: Double, epochs: [RNNEpochMetrics]) {
        log.line("nsas-train standalone (RNN space): \(corpus.name), hidden \(config.hidden), \(network.parameterCount) parameters")
        log.line(genotype.description)
        let data = Corpus.batchify(corpus.train, batch: config.batch)
        guard data.rows >= 2 else { throw TrainError.config("the training text is too short for batch \(config.batch)") }
        var epochs: [RNNEpochMetrics] = []
        var best = Double.infinity, sinceBest = 0
        var average: [[Float]]? = nil, averaged = 0
        for e in 0..<config.epochs {
            let windows = (data.rows - 1 + config.bptt - 1) / config.bptt
            let total = config.maxSteps > 0 ? min(config.maxSteps, windows) : windows
            var h = network.initialHidden(batch: config.batch)
            let start = Timing.now()
            var lossSum = 0.0, tokens = 0
            for s in 0..<total {
                let (x, y, steps) = TextEval.window(data, batch: config.batch, start: s * config.bptt, bptt: config.bptt)
                let (masks, wordMask) = try network.masks(batch: config.batch, training: true, rng: &dropoutRNG)
                sgd.zeroGrad()
                let out = try network.forward(tokens: x, targets: y, steps: steps, batch: config.batch, hidden: h, genotype: genotype,
                                              masks: masks, wordMask: wordMask)
                let loss = config.tar > 0 ? try out.loss + RecurrentNetwork.tar(out.raw, batch: config.batch).scaled(by: config.tar) : out.loss
                try loss.backward()
                guard out.loss.item.isFinite else { throw TrainError.diverged(epoch: e + 1, step: s + 1, loss: out.loss.item) }
                clipGradNorm(network.parameters, maxNorm: config.clip)
                sgd.step()
                if average != nil {   // averaged SGD: the running mean of the weights since the switch
                    averaged += 1
                    let k = Float(averaged)
                    for (i, p) in network.parameters.enumerated() {
                        let w = p.ptr
                        average![i].withUnsafeMutableBufferPointer { a in for j in 0..<a.count { a[j] += (w[j] - a[j]) / k } }
                    }
                }
                h = out.hidden.detach()
                lossSum += Double(out.loss.item) * Double(y.count); tokens += y.count
                log.progress(String(format: "standalone epoch %d/%d step %d/%d ppl %.1f", e + 1, config.epochs, s + 1, total, exp(lossSum / Double(tokens))),
                             step: s + 1, of: total)
            }
            let valid = try evaluate(corpus.valid, averaged: average)
            let mean = lossSum / Double(max(tokens, 1)), seconds = Timing.now() - start
            let m = RNNEpochMetrics(epoch: e + 1, trainLoss: Float(mean), trainPerplexity: Float(exp(mean)), validPerplexity: Float(valid),
                                    lr: sgd.lr, seconds: seconds, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
            epochs.append(m); log.record(m.record)
            log.line(String(format: "epoch %d/%d: train perplexity %.1f, validation perplexity %.2f%@, %.1f s", e + 1, config.epochs,
                            exp(mean), valid, average != nil ? " (averaged weights)" : "", seconds))
            if valid < best { best = valid; sinceBest = 0 } else { sinceBest += 1 }
            if config.asgd, average == nil, sinceBest >= config.nonmono {
                log.line("validation stopped improving for \(config.nonmono) epochs: switching to averaged SGD")
                average = network.parameters.map(\.array); averaged = 0
            }
        }
        let valid = try evaluate(corpus.valid, averaged: average), test = try evaluate(corpus.test, averaged: average)
        log.record(["event": "standalone", "genotype": genotype.description, "canonical": genotype.canonical,
                    "valid_perplexity": valid, "test_perplexity": test, "parameters": network.parameterCount])
        log.line(String(format: "stand-alone: validation perplexity %.2f, test perplexity %.2f, %d parameters", valid, test, network.parameterCount))
        return (valid, test, epochs)
    }

    /// Perplexity on a stream, with the averaged weights swapped in when averaging has started.
    func evaluate(_ stream: [Int32], averaged: [[Float]]?) throws -> Double {
        var saved: [[Float]] = []
        if let averaged {
            saved = network.parameters.map(\.array)
            for (p, a) in zip(network.parameters, averaged) { a.withUnsafeBufferPointer { p.ptr.update(from: $0.baseAddress!, count: p.count) } }
        }
        defer { for (p, a) in zip(network.parameters, saved) { a.withUnsafeBufferPointer { p.ptr.update(from: $0.baseAddress!, count: p.count) } } }
        return exp(try TextEval.loss(network, genotype, stream: stream, batch: config.evalBatch, bptt: config.bptt))
    }
}
