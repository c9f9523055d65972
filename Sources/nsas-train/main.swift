import ArgumentParser
import Foundation
import NSASCLI
import NSASRun
import NSASSearchSpace
import NSASTrain

@main
struct NSASTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-train",
        abstract: "Train a supernet with RandomNAS, NSAS, GDAS, GDAS-NSAS or WPL, or architectures stand-alone.",
        discussion: """
        Examples:
          nsas-train --method nsas --data default --epochs 5 --out runs/nsas
          nsas-train --method standalone --genotype DARTS_V2 --data ~/cifar-10-batches-bin --epochs 20 --out runs/v2
          nsas-train --space rnn --data data/ptb --method gdas --out runs/ptb
          nsas-train --resume runs/nsas
        Options that the chosen space or method does not use are refused. docs/cli.md describes every option.
        """)

    @Option(help: "randomnas, nsas (RandomNAS-NSAS; also randomnas-nsas), gdas, gdas-nsas, wpl, or standalone.")
    var method: Method = .randomnas
    @Option(help: "Search space: \(SpaceRegistry.names.joined(separator: ", ")) (or cnn, rnn).") var space = "cnn"
    @Option(help: "Data: 'default' (embedded Fashion-MNIST subset) or a folder of CIFAR-10, CIFAR-100 or IDX files; RNN: a PTB folder.")
    var data = "default"
    @Option(help: "Output folder: metrics.jsonl and a checkpoint every epoch (epoch-NNNN.nsasckpt, latest).") var out: String?
    @Option(help: "Continue the run in this folder from its newest checkpoint, with the options it was started with.") var resume: String?
    @Option(help: "Epochs (default \(try! RunConfig.defaults(space: .dartsCNN, method: .randomnas).epochs)).") var epochs: Int?
    @Option(help: "Batch size (default: CNN 64; RNN search 256, stand-alone 64).") var batch: Int?
    @Option(help: "Batch size for scoring (default: CNN 256 images, RNN 10 sequences).") var evalBatch: Int?
    @Option(help: "Seed of every random stream (default \(try! RunConfig.defaults(space: .dartsCNN, method: .randomnas).seed)).") var seed: UInt64?
    @Option(help: "Train at most this many steps per epoch (0: all, the default).") var maxSteps: Int?
    @Flag(help: "Let uniform sampling draw 'none' (the CNN space's default, as Li & Talwalkar's RandomNAS).") var allowNone = false
    @Flag(help: "Uniform sampling never draws 'none' (the RNN space's default).") var noNone = false
    @Option(help: "Stand-alone: the genotype (either text form, or a name: DARTS_V1, DARTS_V2, NSAS).") var genotype: String?
    @Option(help: "Stand-alone ground truth: train every genotype of this file and write OUT/truth.csv; a rerun continues.") var archs: String?
    @Option(help: "Searches: score these genotypes on the held-out split after every epoch (paper Figure 1).") var track: String?
    @OptionGroup var optimizer: OptimizerArguments
    @OptionGroup var selection: SelectionArguments
    @OptionGroup var randomnas: RandomNASArguments
    @OptionGroup var nsas: NSASArguments
    @OptionGroup var wpl: WPLArguments
    @OptionGroup var gdas: GDASArguments
    @OptionGroup var cnn: CNNArguments
    @OptionGroup var rnn: RNNArguments
    @OptionGroup var backend: BackendOptions
    @Flag(help: "Print only the final genotype.") var quiet = false
    @Flag(help: "Keep optimizer state in every epoch's checkpoint (default: only the newest two).") var keepOptimizer = false
    @Flag(help: "--out may name a folder that holds a run: it is moved aside (to OUT.replaced-TIME) first.") var overwrite = false
    @Flag(help: "With --resume: continue even though the data differs from what the run trained on (its recorded fingerprint).") var allowChangedData = false

    var groups: [any RunOptionGroup] { [optimizer, selection, randomnas, nsas, wpl, gdas, cnn, rnn] }

    /// The run's configuration: the space and method's defaults, then the options given.
    func config() throws -> RunConfig {
        let type = try SpaceRegistry.type(named: space)
        if method == .standalone, genotype == nil, archs == nil {
            throw ValidationError("--method standalone needs --genotype TEXT|NAME, or --archs FILE for ground truth")
        }
        if method != .standalone, genotype != nil || archs != nil { throw ValidationError("--genotype and --archs apply to --method standalone only") }
        if method == .standalone, track != nil { throw ValidationError("--track applies to searches, not --method standalone") }
        var c = try RunConfig.defaults(space: spaceID(type), method: method, genotype: genotype ?? "")
        guard !(allowNone && noNone) else { throw ValidationError("give --allow-none or --no-none, not both") }
        c.data = data; c.backend = backend.backend.rawValue
        if allowNone { c.allowNone = true }
        if noNone { c.allowNone = false }
        if let epochs { c.epochs = epochs }
        if let batch { c.batch = batch }
        if let evalBatch { c.evalBatch = evalBatch }
        if let seed { c.seed = seed }
        if let maxSteps { c.maxSteps = maxSteps }
        try applyGroups(groups, to: &c)
        if let genotype { c.standalone?.genotype = try canonicalGenotype(genotype, type) }
        return c
    }

    func spaceID<S: SearchSpace>(_ t: S.Type) -> SpaceID { S.id }
    func canonicalGenotype<S: SearchSpace>(_ text: String, _ t: S.Type) throws -> String { try S.Arch(parsing: text).description }

    func run() throws {
        try runReportingErrors("nsas-train") {
            try backend.threading.configure()
            if allowChangedData, resume == nil { throw ValidationError("--allow-changed-data applies to --resume") }
            if let resume {
                let given = [epochs, batch, evalBatch, maxSteps].compactMap { $0 }.count + (seed == nil ? 0 : 1) + groups.flatMap(\.given).count
                    + [out, genotype, archs, track].compactMap { $0 }.count + (allowNone || noNone ? 1 : 0)
                guard given == 0, !overwrite else { throw ValidationError("--resume continues with the options the run was started with; give only --resume, --keep-optimizer, --allow-changed-data, --threads and --quiet") }
                // Claimed and tidied before the metrics log opens (the tidy rewrites metrics.jsonl).
                let folder = try RunFolder.claim(resume, fresh: false)
                try folder.prepareResume(after: try folder.completedEpochs())
                let line = try Train.resume(resume, keepOptimizer: keepOptimizer, allowChangedData: allowChangedData, log: try RunLog(directory: resume, quiet: quiet))
                if quiet { print(line) }
                return
            }
            let c = try config()
            if let out { _ = try RunFolder.claim(out, fresh: archs == nil, overwrite: overwrite) }   // ground truth continues its folder
            let line = try Train.run(Train.Request(config: c, out: out, track: track, archs: archs, keepOptimizer: keepOptimizer),
                                     log: try RunLog(directory: out, quiet: quiet))
            if quiet { print(line) }
        }
    }
}
