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

    @Option(help: "randomnas (search) or standalone (train --genotype from scratch).")
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
    @Option(help: "Stand-alone: final drop-path probability.") var dropPath: Float = 0.2
    @Option(help: "Stand-alone: auxiliary head loss weight (0: no head).") var auxiliaryWeight: Float = 0.4
    @Option(help: "Stand-alone: cutout square side (0: none).") var cutout: Int = 0
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print only the final lines.") var quiet = false
    @Flag(help: "Keep optimizer state in every epoch's checkpoint (default: only the newest).") var keepOptimizer = false

    func validate() throws {
        guard Method(rawValue: method) != nil else {
            throw ValidationError("--method must be one of: \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// `--resume DIR`: the stored options, the restored trainer, and the epochs done.
    func resumeRun(_ dir: String) throws {
        let latest = try RunDirectory.latest(dir)
        let saved = try CheckpointFile(latest).json("config", as: RunCheckpointer.Config.self)
        let c = saved.train
        guard c.method == .randomnas else { throw TrainError.config("--resume continues searches (randomnas); \(latest) is a \(c.method.rawValue) run") }
        let kind = BackendKind(rawValue: c.backend) ?? .blas
        let log = try RunLog(directory: dir, quiet: quiet)
        let splits = try DataSource.load(c.data, seed: c.seed, heldoutFraction: c.heldoutFraction)
        try withBackend(kind.make()) {
            let trainer = try RandomNASTrainer(config: c, data: splits, log: log)
            trainer.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: keepOptimizer)
            let done = try trainer.restore(from: latest)
            log.line("nsas-train: resuming \(dir) from \((latest as NSString).lastPathComponent) (\(done) of \(c.epochs) epochs done)")
            let result = try trainer.run(startEpoch: done)
            if quiet { print(result.genotype.description) }
        }
    }

    func run() throws {
        try runReportingErrors("nsas-train") {
            if let resume { return try resumeRun(resume) }
            var c = TrainConfig()
            c.method = Method(rawValue: method)!; c.data = data; c.epochs = epochs; c.layers = layers; c.channels = channels
            c.batch = batch; c.seed = seed; c.lr = lr; c.lrMin = lrMin; c.momentum = momentum; c.weightDecay = weightDecay
            c.clip = clip; c.maxSteps = maxSteps; c.evalBatch = evalBatch; c.heldoutFraction = heldoutFraction
            c.searchSamples = searchSamples; c.searchBatches = searchBatches; c.searchTop = searchTop; c.allowNone = allowNone
            c.genotype = genotype; c.dropPath = dropPath; c.auxiliaryWeight = auxiliaryWeight; c.cutout = cutout
            c.backend = backend.backend
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
                case .randomnas:
                    let trainer = try RandomNASTrainer(config: c, data: splits, log: log)
                    if let out { trainer.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: keepOptimizer) }
                    let result = try trainer.run()
                    if quiet { print(result.genotype.description) }
                case .standalone:
                    _ = try StandaloneTrainer(genotype: parsed!, config: c, data: splits, log: log).run()
                }
            }
        }
    }
}
