import ArgumentParser
import Foundation
import NSASBackends
import NSASCheckpoint
import NSASCLI
import NSASData
import NSASSearchSpace
import NSASTensor
import NSASTrain

@main
struct NSASTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-train",
        abstract: "Train a DARTS-space supernet (RandomNAS) or one architecture from scratch (standalone).",
        discussion: """
        Examples:
          nsas-train --method randomnas --data default --epochs 2 --out runs/search
          nsas-train --method standalone --genotype DARTS_V2 --data ~/cifar-10-batches-bin --epochs 20
        Data: 'default' (the embedded Fashion-MNIST subset) or a folder of CIFAR-10 (data_batch_*.bin),
        CIFAR-100 (train.bin, test.bin) or IDX files (train-images-idx3-ubyte[.gz], t10k-...).
        Metrics are written as JSON lines to DIR/metrics.jsonl.
        """)

    @Option(help: "randomnas, nsas (RandomNAS-NSAS; also randomnas-nsas), gdas, gdas-nsas, wpl, or standalone (train --genotype from scratch).")
    var method: String = "randomnas"
    @Option(help: "Dataset: 'default' or a folder of CIFAR-10, CIFAR-100 or IDX files.")
    var data: String = "default"
    @Option(help: "Output folder: metrics.jsonl and a checkpoint every epoch (epoch-NNNN.nsasckpt, latest).")
    var out: String?
    @Option(help: "Continue the run in this folder from its newest complete checkpoint, with the options it was started with.")
    var resume: String?
    @Option var epochs: Int = 5
    @Option(help: "Cells L (reductions at L/3 and 2L/3).") var layers: Int = 8
    @Option(help: "Initial channels C.") var channels: Int = 16
    @Option(help: "Search space: cnn (DARTS CNN cells, images) or rnn (DARTS recurrent cells, a PTB-style text folder).")
    var space: String = "cnn"
    @Option(help: "Batch size (default: 64; RNN search 256, RNN stand-alone 64).") var batch: Int?
    @Option var seed: UInt64 = 0
    @Option(help: "Initial learning rate (CNN: 0.025, cosine-annealed to --lr-min; RNN: 20, constant).") var lr: Float?
    @Option var lrMin: Float = 0.001
    @Option var momentum: Float = 0.9
    @Option(help: "Weight decay (CNN 3e-4; RNN search 5e-7, stand-alone 8e-7).") var weightDecay: Float?
    @Option(help: "Clip the gradients' global norm to this (CNN 5, RNN 0.25).") var clip: Float?
    @Option(help: "Train at most this many steps per epoch (0: all).") var maxSteps: Int = 0
    @Option(help: "Batch size for scoring (CNN 256 images, RNN 10 sequences).") var evalBatch: Int?
    @Option(help: "Fraction of the training file held out for scoring (not for 'default').") var heldoutFraction: Double = 0.5
    @Option(help: "Random search: architectures sampled.") var searchSamples: Int = 50
    @Option(help: "Random search: held-out batches each is scored on.") var searchBatches: Int = 2
    @Option(help: "Random search: how many are re-scored on the full held-out split.") var searchTop: Int = 10
    @Flag(help: "Let sampling draw 'none' ops.") var allowNone = false
    @Option(help: "Genotype for --method standalone: DARTS text, the one-line form, or a name (DARTS_V1, DARTS_V2, NSAS).")
    var genotype: String?
    @Option(help: "Searches (every method): score these genotypes (one a line) on the held-out split after every epoch; their accuracies go into metrics and checkpoints (paper Figure 1).")
    var track: String?
    @Option(help: "Stand-alone ground truth: train every genotype of this file (one a line) and write OUT/truth.csv; finished ones are skipped on a rerun.")
    var archs: String?
    @Option(help: "Stand-alone: final drop-path probability.") var dropPath: Float = 0.2
    @Option(help: "Stand-alone: auxiliary head loss weight (0: no head).") var auxiliaryWeight: Float = 0.4
    @Option(help: "Stand-alone: cutout square side (0: none).") var cutout: Int = 0
    @Option(help: "NSAS: weight beta of the constraint losses (Eq. 8).") var nsasBeta: Float = 1
    @Option(help: "NSAS: archive size M.") var archiveSize: Int = 4
    @Option(help: "NSAS: length of the recent-architecture list C (CNN 50, RNN 20).") var recentSize: Int?
    @Option(help: "NSAS: k of the k-nearest-neighbour novelty (Eq. 7).") var knnK: Int = 10
    @Option(help: "NSAS: random draws n from C per archive update (Algorithm 1).") var noveltyDraws: Int = 10
    @Option(help: "NSAS: sum or mean of the constraint losses (L = L_current + beta * sum|mean); the reference code's 0.5/0.5 weighting is mean with beta 1, halved.")
    var constraintReduction: String = "mean"
    @Option(help: "NSAS: loss (the paper's Eq. 8), replay (archived architectures as extra single-path steps), or reference-compat (reproduces the public code's bug: constraint losses carry no gradient).")
    var nsasMode: String = "loss"
    @Option(help: "WPL: eps of the penalty (eps/2) sum F (theta - theta*)^2.") var wplEps: Float = 1
    @Option(help: "WPL: steps each sampled path trains for (theta* = the weights when it started).") var wplStepsPerPath: Int = 4
    @Option(help: "WPL: decay of the running diagonal Fisher estimate.") var wplFisherDecay: Float = 0.9
    @Option(help: "RNN: embedding and hidden size (search 300, stand-alone 850).") var hidden: Int?
    @Option(help: "RNN: truncated back-propagation length.") var bptt: Int = 35
    @Option(help: "RNN: temporal activation regularisation weight.") var tar: Float = 1e-3
    @Option(help: "RNN: output dropout (locked).") var dropout: Float = 0.75
    @Option(help: "RNN: hidden-state dropout in the cell.") var dropoutH: Float = 0.25
    @Option(help: "RNN: input dropout in the cell.") var dropoutX: Float = 0.75
    @Option(help: "RNN: embedding output dropout (locked).") var dropoutI: Float = 0.2
    @Option(help: "RNN: word dropout of the embedding (search 0, stand-alone 0.1).") var dropoutE: Float?
    @Flag(help: "RNN stand-alone: never switch to averaged SGD.") var noAsgd = false
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print only the final lines.") var quiet = false
    @Flag(help: "Keep optimizer state in every epoch's checkpoint (default: only the newest).") var keepOptimizer = false

    func validate() throws {
        guard space == "cnn" || space == "rnn" else { throw ValidationError("--space must be cnn or rnn") }
        guard Method(name: method) != nil else {
            throw ValidationError("--method must be one of: randomnas, nsas (or randomnas-nsas), gdas, gdas-nsas, wpl, standalone")
        }
        if Method(name: method) == .standalone && genotype == nil && archs == nil {
            throw ValidationError("--method standalone needs --genotype \"Genotype(...)\" (or a name: DARTS_V2, NSAS), or --archs FILE for ground truth")
        }
        guard NSASMode(rawValue: nsasMode) != nil else { throw ValidationError("--nsas-mode must be loss, replay or reference-compat") }
        guard ConstraintReduction(rawValue: constraintReduction) != nil else { throw ValidationError("--constraint-reduction must be sum or mean") }
    }

    /// `--resume DIR`: the stored options, the restored trainer, and the epochs done.
    func resumeRun(_ dir: String) throws {
        let latest = try RunDirectory.latest(dir)
        if RNNSearchTrainer.isRNN(try CheckpointFile(latest)) {
            let c = try CheckpointFile(latest).json("config", as: RNNSearchTrainer.Config.self).train
            let log = try RunLog(directory: dir, quiet: quiet)
            let corpus = try Corpus.load(c.data)
            try withBackend((BackendKind(rawValue: c.backend) ?? .blas).make()) {
                let trainer = try makeRNNSearch(config: c, corpus: corpus, log: log)
                trainer.directory = dir
                let done = try trainer.restore(from: latest)
                log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(c.epochs) epochs done)")
                let r = try trainer.run(startEpoch: done)
                if quiet { print(r.genotype.description) }
            }
            return
        }
        let saved = try CheckpointFile(latest).json("config", as: RunCheckpointer.Config.self)
        let c = saved.train
        guard c.method != .standalone else { throw TrainError.config("--resume continues searches; \(latest) is a stand-alone run") }
        let kind = BackendKind(rawValue: c.backend) ?? .blas
        let log = try RunLog(directory: dir, quiet: quiet)
        let splits = try DataSource.load(c.data, seed: c.seed, heldoutFraction: c.heldoutFraction)
        try withBackend(kind.make()) {
            let trainer = try makeCNNSearch(config: c, data: splits, log: log)
            trainer.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: keepOptimizer)
            trainer.tracked = try trackedArchitectures(inCheckpoint: latest)
            let done = try trainer.restore(from: latest)
            log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(c.epochs) epochs done)")
            let result = try trainer.run(startEpoch: done)
            if quiet { print(result.genotype.description) }
        }
    }

    /// `--space rnn`: a search (randomnas, nsas) or stand-alone training on a PTB-style folder.
    func runRNN() throws {
        let m = Method(name: method)!
        var c = m == .standalone ? RNNTrainConfig.standalone() : RNNTrainConfig()
        c.method = m; c.data = data; c.epochs = epochs; c.seed = seed; c.maxSteps = maxSteps; c.backend = backend.backend
        if let batch { c.batch = batch }
        if let lr { c.lr = lr }
        if let weightDecay { c.weightDecay = weightDecay }
        if let clip { c.clip = clip }
        if let evalBatch { c.evalBatch = evalBatch }
        if let recentSize { c.recentSize = recentSize }
        if let hidden { c.hidden = hidden }
        if let dropoutE { c.dropoutE = dropoutE }
        c.bptt = bptt; c.tar = tar; c.dropout = dropout; c.dropoutH = dropoutH; c.dropoutX = dropoutX; c.dropoutI = dropoutI
        c.searchSamples = searchSamples; c.searchTop = searchTop; c.allowNone = allowNone; c.asgd = !noAsgd
        c.wplEps = wplEps; c.wplStepsPerPath = wplStepsPerPath; c.wplFisherDecay = wplFisherDecay
        c.nsasBeta = nsasBeta; c.archiveSize = archiveSize; c.knnK = knnK; c.noveltyDraws = noveltyDraws
        c.constraintReduction = ConstraintReduction(rawValue: constraintReduction)!
        if let genotype { c.genotype = try RecurrentGenotype(parsing: genotype).description }
        try c.validate()
        guard data != "default" else { throw TrainError.config("--space rnn needs --data DIR with ptb.train.txt, ptb.valid.txt, ptb.test.txt (Tools/get-ptb DIR writes them)") }
        let (be, line) = backend.make()
        let log = try RunLog(directory: out, quiet: quiet)
        log.line("nsas-train: \(line)")
        let corpus = try Corpus.load(data)
        log.record(["event": "start", "space": "rnn", "method": m.rawValue, "data": corpus.name, "backend": backend.backend, "seed": seed,
                    "epochs": epochs, "hidden": c.hidden, "batch": c.batch])
        try withBackend(be) {
            if m == .standalone {
                _ = try RNNStandaloneTrainer(genotype: try RecurrentGenotype(parsing: c.genotype!), config: c, corpus: corpus, log: log).run()
            } else {
                let trainer = try makeRNNSearch(config: c, corpus: corpus, log: log)
                trainer.directory = out
                let r = try trainer.run(startEpoch: 0)
                if quiet { print(r.genotype.description) }
            }
        }
    }

    func run() throws {
        try runReportingErrors("nsas-train") {
            if let resume { return try resumeRun(resume) }
            var c = TrainConfig()
            c.method = Method(name: method)!; c.data = data; c.epochs = epochs; c.layers = layers; c.channels = channels
            if space == "rnn" { return try runRNN() }
            c.batch = batch ?? 64; c.seed = seed; c.lr = lr ?? 0.025; c.lrMin = lrMin; c.momentum = momentum; c.weightDecay = weightDecay ?? 3e-4
            c.clip = clip ?? 5; c.maxSteps = maxSteps; c.evalBatch = evalBatch ?? 256; c.heldoutFraction = heldoutFraction
            c.searchSamples = searchSamples; c.searchBatches = searchBatches; c.searchTop = searchTop; c.allowNone = allowNone
            c.genotype = genotype; c.dropPath = dropPath; c.auxiliaryWeight = auxiliaryWeight; c.cutout = cutout
            c.backend = backend.backend
            c.nsasBeta = nsasBeta; c.archiveSize = archiveSize; c.recentSize = recentSize ?? 50; c.knnK = knnK
            c.noveltyDraws = noveltyDraws; c.constraintReduction = ConstraintReduction(rawValue: constraintReduction)!
            c.nsasMode = NSASMode(rawValue: nsasMode)!
            c.wplEps = wplEps; c.wplStepsPerPath = wplStepsPerPath; c.wplFisherDecay = wplFisherDecay
            try c.validate()
            let parsed = try genotype.map { try Genotype(parsing: $0) }
            let (be, line) = backend.make()
            let log = try RunLog(directory: out, quiet: quiet)
            log.line("nsas-train: \(line)")
            let splits = try DataSource.load(data, seed: seed, heldoutFraction: heldoutFraction)
            log.record(["event": "start", "method": method, "data": splits.name, "backend": backend.backend, "seed": seed,
                        "epochs": epochs, "layers": layers, "channels": channels, "batch": c.batch])
            try withBackend(be) {
                switch c.method {
                case .randomnas, .nsas, .wpl, .gdas, .gdasNSAS:
                    let trainer = try makeCNNSearch(config: c, data: splits, log: log)
                    if let track { trainer.tracked = try Genotype.list(fromFile: track) }
                    if let out { trainer.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: keepOptimizer) }
                    let result = try trainer.run(startEpoch: 0)
                    if quiet { print(result.genotype.description) }
                case .standalone:
                    if let archs {
                        guard let out else { throw TrainError.config("--archs needs --out DIR for truth.csv") }
                        let list = try Genotype.list(fromFile: archs)
                        let t = try GroundTruth.run(list, config: c, data: splits, directory: out, log: log)
                        log.line("ground truth: \(t.rows.count) architectures in \((out as NSString).appendingPathComponent("truth.csv"))")
                    } else {
                        _ = try StandaloneTrainer(genotype: parsed!, config: c, data: splits, log: log).run()
                    }
                }
            }
        }
    }
}
