import ArgumentParser
import NSASBackends
import NSASRun
import NSASSearchSpace

extension Method: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) + ["randomnas-nsas"] }
}
extension NSASMode: ExpressibleByArgument {}
extension ConstraintReduction: ExpressibleByArgument {}
extension ArchivePolicy: ExpressibleByArgument {}
extension BackendKind: ExpressibleByArgument {}

/// One group of run options: which of its flags were given, and how they change a configuration.
public protocol RunOptionGroup: ParsableArguments {
    /// The flags given on the command line, as `--name`.
    var given: [String] { get }
    /// Whether the group applies to a run of this space and method; a reason when it does not.
    func applies(to c: RunConfig) -> String?
    func apply(to c: inout RunConfig) throws
}

/// `--flag` for each non-nil value.
func flags(_ pairs: [(String, Any?)]) -> [String] { pairs.filter { $0.1 != nil }.map { "--" + $0.0 } }

/// Defaults of both DARTS spaces for help texts, from the one place they are set.
func defaultText(_ key: KeyPath<SpaceDefaults, Float>) -> String {
    "CNN \(DARTSCNNSpace.defaults(standalone: false).0[keyPath: key]), RNN \(DARTSRNNSpace.defaults(standalone: false).0[keyPath: key])"
}
func spaceDefaults(_ key: KeyPath<SpaceDefaults, Int>) -> String {
    "CNN \(DARTSCNNSpace.defaults(standalone: false).0[keyPath: key]), RNN \(DARTSRNNSpace.defaults(standalone: false).0[keyPath: key])"
}
let nsasDefaults = NSASOptions(recentSize: 0)

public struct OptimizerArguments: RunOptionGroup {
    @Option(help: "Initial learning rate (default: \(defaultText(\.lr))).") public var lr: Float?
    @Option(help: "Final learning rate of the cosine schedule (CNN; default \(DARTSCNNSpace.defaults(standalone: false).0.lrMin)).") public var lrMin: Float?
    @Option(help: "SGD momentum (default: \(defaultText(\.momentum))).") public var momentum: Float?
    @Option(help: "Weight decay (default: \(defaultText(\.weightDecay)); RNN stand-alone 8e-7).") public var weightDecay: Float?
    @Option(help: "Clip the gradients' global norm to this (default: \(defaultText(\.clip))).") public var clip: Float?
    public init() {}
    public var given: [String] { flags([("lr", lr), ("lr-min", lrMin), ("momentum", momentum), ("weight-decay", weightDecay), ("clip", clip)]) }
    public func applies(to c: RunConfig) -> String? {
        lrMin != nil && !c.optimizer.cosine ? "--lr-min: the \(c.space) space trains at a constant learning rate" : nil
    }
    public func apply(to c: inout RunConfig) throws {
        if let lr { c.optimizer.lr = lr }
        if let lrMin { c.optimizer.lrMin = lrMin }
        if let momentum { c.optimizer.momentum = momentum }
        if let weightDecay { c.optimizer.weightDecay = weightDecay }
        if let clip { c.optimizer.clip = clip }
    }
}

public struct SelectionArguments: RunOptionGroup {
    @Option(help: "Random search: architectures sampled (default: \(spaceDefaults(\.searchSamples))).") public var searchSamples: Int?
    @Option(help: "Random search: held-out batches each is scored on (default: \(spaceDefaults(\.searchBatches))).") public var searchBatches: Int?
    @Option(help: "Random search: how many are re-scored on the full held-out split (default \(SelectionOptions(batches: 0).top)).") public var searchTop: Int?
    @Option(help: "Random search: size of the candidates' scoring batches (default: CNN 64, RNN the eval batch).") public var searchBatchSize: Int?
    public init() {}
    public var given: [String] {
        flags([("search-samples", searchSamples), ("search-batches", searchBatches), ("search-top", searchTop), ("search-batch-size", searchBatchSize)])
    }
    public func applies(to c: RunConfig) -> String? {
        c.selection == nil ? "\(given.joined(separator: ", ")): random search ends randomnas, nsas and wpl searches, not --method \(c.method.rawValue)" : nil
    }
    public func apply(to c: inout RunConfig) throws {
        if let searchSamples { c.selection?.samples = searchSamples }
        if let searchBatches { c.selection?.batches = searchBatches }
        if let searchTop { c.selection?.top = searchTop }
        if let searchBatchSize { c.selection?.batchSize = searchBatchSize }
    }
}

public struct NSASArguments: RunOptionGroup {
    @Option(help: "NSAS: weight beta of the constraint losses (Eq. 8; default \(nsasDefaults.beta)).") public var nsasBeta: Float?
    @Option(help: "NSAS: archive size M (default \(nsasDefaults.archiveSize)).") public var archiveSize: Int?
    @Option(help: "NSAS: length of the recent-architecture list (default: \(spaceDefaults(\.recentSize))).") public var recentSize: Int?
    @Option(help: "NSAS: k of the k-nearest-neighbour novelty (Eq. 7; default \(nsasDefaults.knnK)).") public var knnK: Int?
    @Option(help: "NSAS: random draws from the recent list per archive update (Algorithm 1; default \(nsasDefaults.noveltyDraws)).") public var noveltyDraws: Int?
    @Option(help: "NSAS: sum or mean of the constraint losses (default \(nsasDefaults.reduction.rawValue)).") public var constraintReduction: ConstraintReduction?
    @Option(help: "NSAS: loss (the paper's Eq. 8, default), replay (archived architectures as extra steps), or reference-compat (the public code: constraint losses without gradient).")
    public var nsasMode: NSASMode?
    @Option(help: "NSAS: how the full archive is renewed: novelty (the paper's, default), random, or fifo (the last M sampled).")
    public var archivePolicy: ArchivePolicy?
    @Flag(help: "NSAS: L = (L_current + beta * constraint) / (1 + beta), the step size of RandomNAS (an ablation).") public var nsasNormalize = false
    public init() {}
    public var given: [String] {
        flags([("nsas-beta", nsasBeta), ("archive-size", archiveSize), ("recent-size", recentSize), ("knn-k", knnK), ("novelty-draws", noveltyDraws),
               ("constraint-reduction", constraintReduction), ("nsas-mode", nsasMode), ("archive-policy", archivePolicy),
               ("nsas-normalize", nsasNormalize ? true : nil)])
    }
    public func applies(to c: RunConfig) -> String? {
        c.nsas == nil ? "\(given.joined(separator: ", ")): NSAS options apply to --method nsas and gdas-nsas, not \(c.method.rawValue)" : nil
    }
    public func apply(to c: inout RunConfig) throws {
        if let nsasBeta { c.nsas?.beta = nsasBeta }
        if let archiveSize { c.nsas?.archiveSize = archiveSize }
        if let recentSize { c.nsas?.recentSize = recentSize }
        if let knnK { c.nsas?.knnK = knnK }
        if let noveltyDraws { c.nsas?.noveltyDraws = noveltyDraws }
        if let constraintReduction { c.nsas?.reduction = constraintReduction }
        if let nsasMode { c.nsas?.mode = nsasMode }
        if let archivePolicy { c.nsas?.policy = archivePolicy }
        if nsasNormalize { c.nsas?.normalize = true }
    }
}

public struct RandomNASArguments: RunOptionGroup {
    @Option(help: "RandomNAS: paths sampled and trained per step on the same batch, their gradients summed (default \(RandomNASOptions().pathsPerStep); K is the compute-matched control for NSAS with M = K - 1).")
    public var pathsPerStep: Int?
    public init() {}
    public var given: [String] { flags([("paths-per-step", pathsPerStep)]) }
    public func applies(to c: RunConfig) -> String? { c.randomnas == nil ? "--paths-per-step applies to --method randomnas only" : nil }
    public func apply(to c: inout RunConfig) throws { if let pathsPerStep { c.randomnas?.pathsPerStep = pathsPerStep } }
}

public struct WPLArguments: RunOptionGroup {
    @Option(help: "WPL: eps of the penalty (eps/2) sum F (theta - theta*)^2 (default \(WPLOptions().eps)).") public var wplEps: Float?
    @Option(help: "WPL: steps each sampled path trains for (default \(WPLOptions().stepsPerPath)).") public var wplStepsPerPath: Int?
    @Option(help: "WPL: decay of the running diagonal Fisher estimate (default \(WPLOptions().fisherDecay)).") public var wplFisherDecay: Float?
    public init() {}
    public var given: [String] { flags([("wpl-eps", wplEps), ("wpl-steps-per-path", wplStepsPerPath), ("wpl-fisher-decay", wplFisherDecay)]) }
    public func applies(to c: RunConfig) -> String? { c.wpl == nil ? "\(given.joined(separator: ", ")): WPL options apply to --method wpl only" : nil }
    public func apply(to c: inout RunConfig) throws {
        if let wplEps { c.wpl?.eps = wplEps }
        if let wplStepsPerPath { c.wpl?.stepsPerPath = wplStepsPerPath }
        if let wplFisherDecay { c.wpl?.fisherDecay = wplFisherDecay }
    }
}

public struct GDASArguments: RunOptionGroup {
    @Option(help: "GDAS: initial Gumbel-softmax temperature (default \(GDASOptions().tauMax)).") public var tauMax: Float?
    @Option(help: "GDAS: final temperature (default \(GDASOptions().tauMin)).") public var tauMin: Float?
    public init() {}
    public var given: [String] { flags([("tau-max", tauMax), ("tau-min", tauMin)]) }
    public func applies(to c: RunConfig) -> String? { c.gdas == nil ? "\(given.joined(separator: ", ")): GDAS options apply to --method gdas and gdas-nsas only" : nil }
    public func apply(to c: inout RunConfig) throws {
        if let tauMax { c.gdas?.tauMax = tauMax }
        if let tauMin { c.gdas?.tauMin = tauMin }
    }
}

/// Options of the image spaces: the DARTS CNN space and NAS-Bench-201.
public struct CNNArguments: RunOptionGroup {
    @Option(help: "CNN: cells L (reductions at L/3 and 2L/3; default \(DARTSCNNOptions().layers)).") public var layers: Int?
    @Option(help: "CNN and NB201: initial channels C (default \(DARTSCNNOptions().channels)).") public var channels: Int?
    @Option(help: "NB201: cells N a stage (default \(NB201Options().cellsPerStage)).") public var cellsPerStage: Int?
    @Option(help: "CNN and NB201: fraction of the training file held out for scoring (not for 'default'; default \(DARTSCNNOptions().heldoutFraction)).") public var heldoutFraction: Double?
    @Option(help: "CNN stand-alone: final drop-path probability (default \(DARTSCNNOptions().dropPath)).") public var dropPath: Float?
    @Option(help: "CNN stand-alone: auxiliary head loss weight (0: no head; default \(DARTSCNNOptions().auxiliaryWeight)).") public var auxiliaryWeight: Float?
    @Option(help: "CNN stand-alone: cutout square side (0: none; default \(DARTSCNNOptions().cutout)).") public var cutout: Int?
    public init() {}
    public var given: [String] {
        flags([("layers", layers), ("channels", channels), ("cells-per-stage", cellsPerStage), ("heldout-fraction", heldoutFraction),
               ("drop-path", dropPath), ("auxiliary-weight", auxiliaryWeight), ("cutout", cutout)])
    }
    public func applies(to c: RunConfig) -> String? {
        if c.space == .nb201 {
            let cnnOnly = flags([("layers", layers), ("drop-path", dropPath), ("auxiliary-weight", auxiliaryWeight), ("cutout", cutout)])
            return cnnOnly.isEmpty ? nil : "\(cnnOnly.joined(separator: ", ")): options of the DARTS CNN space, not nb201 (its size is --channels and --cells-per-stage)"
        }
        if c.space != .dartsCNN { return "\(given.joined(separator: ", ")): options of the image spaces, not \(c.space)" }
        if cellsPerStage != nil { return "--cells-per-stage: an option of the nb201 space, not \(c.space) (its size is --layers)" }
        if c.method != .standalone, dropPath != nil || auxiliaryWeight != nil || cutout != nil {
            return "--drop-path, --auxiliary-weight and --cutout apply to --method standalone only"
        }
        return nil
    }
    public func apply(to c: inout RunConfig) throws {
        if c.space == .nb201 {
            var o = try c.network.decode(NB201Options.self)
            if let channels { o.channels = channels }
            if let cellsPerStage { o.cellsPerStage = cellsPerStage }
            if let heldoutFraction { o.heldoutFraction = heldoutFraction }
            c.network = try JSONValue(encoding: o)
            return
        }
        var o = try c.network.decode(DARTSCNNOptions.self)
        if let layers { o.layers = layers }
        if let channels { o.channels = channels }
        if let heldoutFraction { o.heldoutFraction = heldoutFraction }
        if let dropPath { o.dropPath = dropPath }
        if let auxiliaryWeight { o.auxiliaryWeight = auxiliaryWeight }
        if let cutout { o.cutout = cutout }
        c.network = try JSONValue(encoding: o)
    }
}

/// Options of the DARTS RNN space.
public struct RNNArguments: RunOptionGroup {
    @Option(help: "RNN: embedding and hidden size (search 300, stand-alone 850).") public var hidden: Int?
    @Option(help: "RNN: nodes of the recurrent cell (default \(DARTSRNNOptions().nodes)).") public var nodes: Int?
    @Option(help: "RNN: truncated back-propagation length (default \(DARTSRNNOptions().bptt)).") public var bptt: Int?
    @Option(help: "RNN: temporal activation regularisation weight (default \(DARTSRNNOptions().tar)).") public var tar: Float?
    @Option(help: "RNN: output dropout (default \(DARTSRNNOptions().dropout)).") public var dropout: Float?
    @Option(help: "RNN: hidden-state dropout in the cell (default \(DARTSRNNOptions().dropoutH)).") public var dropoutH: Float?
    @Option(help: "RNN: input dropout in the cell (default \(DARTSRNNOptions().dropoutX)).") public var dropoutX: Float?
    @Option(help: "RNN: embedding output dropout (default \(DARTSRNNOptions().dropoutI)).") public var dropoutI: Float?
    @Option(help: "RNN: word dropout of the embedding (search 0, stand-alone 0.1).") public var dropoutE: Float?
    @Flag(help: "RNN stand-alone: never switch to averaged SGD.") public var noAsgd = false
    @Option(help: "RNN stand-alone: epochs without improvement before averaged SGD (default \(DARTSRNNOptions().nonmono)).") public var nonmono: Int?
    public init() {}
    public var given: [String] {
        flags([("hidden", hidden), ("nodes", nodes), ("bptt", bptt), ("tar", tar), ("dropout", dropout), ("dropout-h", dropoutH),
               ("dropout-x", dropoutX), ("dropout-i", dropoutI), ("dropout-e", dropoutE), ("no-asgd", noAsgd ? true : nil), ("nonmono", nonmono)])
    }
    public func applies(to c: RunConfig) -> String? {
        if c.space != .dartsRNN { return "\(given.joined(separator: ", ")): options of the RNN space (--space rnn), not \(c.space)" }
        if c.method != .standalone, noAsgd || nonmono != nil { return "--no-asgd and --nonmono apply to --method standalone only" }
        return nil
    }
    public func apply(to c: inout RunConfig) throws {
        var o = try c.network.decode(DARTSRNNOptions.self)
        if let hidden { o.hidden = hidden }
        if let nodes { o.nodes = nodes }
        if let bptt { o.bptt = bptt }
        if let tar { o.tar = tar }
        if let dropout { o.dropout = dropout }
        if let dropoutH { o.dropoutH = dropoutH }
        if let dropoutX { o.dropoutX = dropoutX }
        if let dropoutI { o.dropoutI = dropoutI }
        if let dropoutE { o.dropoutE = dropoutE }
        if noAsgd { o.asgd = false }
        if let nonmono { o.nonmono = nonmono }
        c.network = try JSONValue(encoding: o)
    }
}

/// Applies every group that was given, refusing one that does not apply (one line saying why).
public func applyGroups(_ groups: [any RunOptionGroup], to c: inout RunConfig) throws {
    for g in groups where !g.given.isEmpty {
        if let why = g.applies(to: c) { throw ValidationError(why) }
        try g.apply(to: &c)
    }
}
