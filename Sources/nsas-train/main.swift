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
    @Option var batch: Int = 64
    @Option var seed: UInt64 = 0
    @Option(help: "Initial learning rate (cosine-annealed to --lr-min).") var lr: Float = 0.025
    @Option var lrMin: Float = 0.001
    @Option var momentum: Float = 0.9
    @Option var weightDecay: Float = 3e-4
    @Option(help: "Clip the gradients' global norm to this.") var clip: Float = 5
    @Option(help: "Train at most this many steps per epoch (0: all).") var maxSteps: Int = 0
    @Option(help: "Batch size for scoring.") var evalBatch: Int = 256
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
    @Option(help: "NSAS: length of the recent-architecture list C.") var recentSize: Int = 50
    @Option(help: "NSAS: k of the k-nearest-neighbour novelty (Eq. 7).") var knnK: Int = 10
    @Option(help: "NSAS: random draws n from C per archive update (Algorithm 1).") var noveltyDraws: Int = 10
    @Option(help: "NSAS: sum or mean of the constraint losses (L = L_current + beta * sum|mean); the reference code's 0.5/0.5 weighting is mean with beta 1, halved.")
    var constraintReduction: String = "mean"
    @Option(help: "NSAS: loss (the paper's Eq. 8), replay (archived architectures as extra single-path steps), or reference-compat (reproduces the public code's bug: constraint losses carry no gradient).")
    var nsasMode: String = "loss"
    @Option(help: "WPL: eps of the penalty (eps/2) sum F (theta - theta*)^2.") var wplEps: Float = 1
    @Option(help: "WPL: steps each sampled path trains for (theta* = the weights when it started).") var wplStepsPerPath: Int = 4
    @Option(help: "WPL: decay of the running diagonal Fisher estimate.") var wplFisherDecay: Float = 0.9
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print only the final lines.") var quiet = false
    @Flag(help: "Keep optimizer state in every epoch's checkpoint (default: only the newest).") var keepOptimizer = false

    func validate() throws {
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
        let saved = try CheckpointFile(latest).json("config", as: RunCheckpointer.Config.self)
        let c = saved.train
        guard c.method != .standalone else { throw TrainError.config("--resume continues searches; \(latest) is a stand-alone run") }
        let kind = BackendKind(rawValue: c.backend) ?? .blas
        let log = try RunLog(directory: dir, quiet: quiet)
        let splits = try DataSource.load(c.data, seed: c.seed, heldoutFraction: c.heldoutFraction)
        try withBackend(kind.make()) {
            let result: SearchResult
            let checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: keepOptimizer)
            if c.method == .gdas || c.method == .gdasNSAS {
                let trainer = try GDASTrainer(config: c, data: splits, log: log)
                trainer.checkpointer = checkpointer
                trainer.tracked = try trackedArchitectures(inCheckpoint: latest)
                let done = try trainer.restore(from: latest)
                log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(c.epochs) epochs done)")
                result = try trainer.run(startEpoch: done)
            } else {
                let trainer = try RandomNASTrainer(config: c, data: splits, log: log)
                trainer.checkpointer = checkpointer
                trainer.tracked = try trackedArchitectures(inCheckpoint: latest)
                let done = try trainer.restore(from: latest)
                log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(c.epochs) epochs done)")
                result = try trainer.run(startEpoch: done)
            }
            if quiet { print(result.genotype.description) }
        }
    }

    func run() throws {
        try runReportingErrors("nsas-train") {
            if let resume { return try resumeRun(resume) }
            var c = TrainConfig()
            c.method = Method(name: method)!; c.data = data; c.epochs = epochs; c.layers = layers; c.channels = channels
            c.batch = batch; c.seed = seed; c.lr = lr; c.lrMin = lrMin; c.momentum = momentum; c.weightDecay = weightDecay
            c.clip = clip; c.maxSteps = maxSteps; c.evalBatch = evalBatch; c.heldoutFraction = heldoutFraction
            c.searchSamples = searchSamples; c.searchBatches = searchBatches; c.searchTop = searchTop; c.allowNone = allowNone
            c.genotype = genotype; c.dropPath = dropPath; c.auxiliaryWeight = auxiliaryWeight; c.cutout = cutout
            c.backend = backend.backend
            c.nsasBeta = nsasBeta; c.archiveSize = archiveSize; c.recentSize = recentSize; c.knnK = knnK
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
                        "epochs": epochs, "layers": layers, "channels": channels, "batch": batch])
            try withBackend(be) {
                switch c.method {
                case .randomnas, .nsas, .wpl:
                    let trainer = try RandomNASTrainer(config: c, data: splits, log: log)
                    if let track { trainer.tracked = try Genotype.list(fromFile: track) }
                    if let out { trainer.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: keepOptimizer) }
                    let result = try trainer.run()
                    if quiet { print(result.genotype.description) }
                case .gdas, .gdasNSAS:
                    let trainer = try GDASTrainer(config: c, data: splits, log: log)
                    if let track { trainer.tracked = try Genotype.list(fromFile: track) }
                    if let out { trainer.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: keepOptimizer) }
                    let result = try trainer.run()
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
