import NSASSearchSpace
import NSASTensor

/// The search or training methods.
public enum Method: String, Codable, CaseIterable, Sendable {
    case randomnas
    /// RandomNAS-NSAS: RandomNAS sampling with the NSAS constraint archive and loss.
    case nsas
    /// GDAS: Gumbel-softmax sampling of learned architecture logits.
    case gdas
    /// GDAS-NSAS: GDAS with the NSAS constraint archive of sampled paths and loss.
    case gdasNSAS = "gdas-nsas"
    /// WPL: RandomNAS sampling with the weight plasticity loss.
    case wpl
    case standalone

    /// Accepts the long names too (`randomnas-nsas`).
    public init?(name: String) {
        if name == "randomnas-nsas" { self = .nsas } else { self.init(rawValue: name) }
    }

    public var usesNSAS: Bool { self == .nsas || self == .gdasNSAS }
    public var usesGDAS: Bool { self == .gdas || self == .gdasNSAS }
    /// Methods that end with random search over the trained supernet.
    public var selectsByRandomSearch: Bool { self == .randomnas || self == .nsas || self == .wpl }
}

/// How NSAS uses its archive.
public enum NSASMode: String, Codable, CaseIterable, Sendable {
    /// The paper's Eq. 8: the archived architectures' losses on the same batch, with gradients.
    case loss
    /// The replay-buffer variant: each archived architecture trained as an extra single-path step.
    case replay
    /// The public reference code: constraint losses computed without gradient (the current path's
    /// gradient scaled by 0.5), to show what that costs.
    case referenceCompat = "reference-compat"
}

/// L = L_current + beta * (sum or mean over the archive). The reference code's 0.5 * L_current +
/// 0.5 * mean is `mean` with beta = 1, halved.
public enum ConstraintReduction: String, Codable, CaseIterable, Sendable { case sum, mean }

/// How the NSAS archive replaces members once it is full.
public enum ArchivePolicy: String, Codable, CaseIterable, Sendable {
    /// The paper's greedy novelty search (Algorithm 1).
    case novelty
    /// A uniformly chosen member replaced by a uniformly chosen recent architecture (no novelty).
    case random
    /// The last M sampled architectures.
    case fifo
}

public struct OptimizerOptions: Codable, Hashable, Sendable {
    public var lr: Float, lrMin: Float, momentum: Float, weightDecay: Float, clip: Float
    /// Cosine annealing from lr to lrMin over the epochs (false: constant).
    public var cosine: Bool
    public init(_ d: SpaceDefaults) {
        lr = d.lr; lrMin = d.lrMin; momentum = d.momentum; weightDecay = d.weightDecay; clip = d.clip; cosine = d.cosine
    }
}

/// Random search at the end of RandomNAS-style searches: `samples` architectures scored on
/// `batches` held-out batches, the best `top` re-scored on the whole held-out split.
public struct SelectionOptions: Codable, Hashable, Sendable {
    public var samples: Int, batches: Int, top = 10
    /// The size of the candidates' scoring batches (nil: the run's eval batch).
    public var batchSize: Int?
    public init(samples: Int = 1000, batches: Int, batchSize: Int? = nil) { self.samples = samples; self.batches = batches; self.batchSize = batchSize }
}

/// RandomNAS: `pathsPerStep` independently sampled paths per step, their gradients summed (the
/// compute-matched control for NSAS with M = pathsPerStep - 1). The first is the current path
/// from the `sampling` stream; the others come from a stream of their own.
public struct RandomNASOptions: Codable, Hashable, Sendable {
    public var pathsPerStep = 1
    public init() {}
}

public struct NSASOptions: Codable, Hashable, Sendable {
    public var beta: Float = 1
    public var archiveSize = 4
    public var recentSize: Int
    public var knnK = 10
    public var noveltyDraws = 10
    public var reduction = ConstraintReduction.mean
    public var mode = NSASMode.loss
    public var policy = ArchivePolicy.novelty
    /// L = (L_current + beta * constraint) / (1 + beta): the step size of RandomNAS.
    public var normalize = false
    public init(recentSize: Int) { self.recentSize = recentSize }
}

/// WPL: penalty (eps/2) sum F (theta - theta*)^2.
public struct WPLOptions: Codable, Hashable, Sendable {
    public var eps: Float = 1
    /// Steps each sampled path trains for; theta* is the weights when the path started.
    public var stepsPerPath = 4
    /// Decay of the running diagonal Fisher estimate F = decay F + (1 - decay) g^2.
    public var fisherDecay: Float = 0.9
    public init() {}
}

public struct GDASOptions: Codable, Hashable, Sendable {
    public var tauMax: Float = 10, tauMin: Float = 0.1
    /// Adam on the architecture logits (betas 0.5, 0.999).
    public var archLR: Float = 3e-4, archWeightDecay: Float = 1e-3
    public init() {}
}

public struct StandaloneOptions: Codable, Hashable, Sendable {
    public var genotype: String
    /// CNN: final drop-path probability, auxiliary head weight (0: no head), cutout side.
    public var dropPath: Float = 0.2, auxiliaryWeight: Float = 0.4, cutout = 0
    /// RNN: averaged SGD once validation perplexity has not improved for `nonmono` epochs.
    public var asgd = true, nonmono = 5
    public init(genotype: String) { self.genotype = genotype }
}

/// Everything a run needs. Options of one method sit in their own group, present only when the
/// method uses them; the space's own options (network size) are stored as its `Options` type
/// encodes them. `defaults(space:method:)` is the one place defaults live.
public struct RunConfig: Codable, Hashable, Sendable {
    /// The most epochs a run may have.
    public static let maxEpochs = 100_000

    public var space: SpaceID
    public var method: Method
    public var data = "default"
    public var seed: UInt64 = 0
    public var epochs = 5
    public var batch: Int
    public var evalBatch: Int
    /// Steps per epoch at most (0: all). For quick looks and tests.
    public var maxSteps = 0
    public var backend = "blas"
    /// Whether uniform sampling (training and random search) may draw `none`.
    public var allowNone = false
    public var optimizer: OptimizerOptions
    public var network: JSONValue
    public var selection: SelectionOptions?
    public var randomnas: RandomNASOptions?
    public var nsas: NSASOptions?
    public var wpl: WPLOptions?
    public var gdas: GDASOptions?
    public var standalone: StandaloneOptions?

    /// The defaults of a space and method (stand-alone needs `genotype`).
    public static func defaults(space: SpaceID, method: Method, genotype: String = "") throws -> RunConfig {
        try open(SpaceRegistry.type(space), method: method, genotype: genotype)
    }

    static func open<S: SearchSpace>(_ type: S.Type, method: Method, genotype: String) throws -> RunConfig {
        let (d, options) = S.defaults(standalone: method == .standalone)
        var c = RunConfig(space: S.id, method: method, batch: d.batch, evalBatch: d.evalBatch, optimizer: OptimizerOptions(d),
                          network: try JSONValue(encoding: options))
        c.allowNone = d.allowNone
        if method.selectsByRandomSearch { c.selection = SelectionOptions(samples: d.searchSamples, batches: d.searchBatches, batchSize: d.searchBatchSize) }
        if method == .randomnas { c.randomnas = RandomNASOptions() }
        if method.usesNSAS { c.nsas = NSASOptions(recentSize: d.recentSize) }
        if method == .wpl { c.wpl = WPLOptions() }
        if method.usesGDAS { c.gdas = GDASOptions() }
        if method == .standalone { c.standalone = StandaloneOptions(genotype: genotype) }
        return c
    }

    /// The learning rate of an epoch (0-based): cosine annealing from lr to lrMin, or constant.
    public func lr(epoch: Int) -> Float {
        let o = optimizer
        return o.cosine ? CosineAnnealing(base: o.lr, minimum: o.lrMin, total: epochs).lr(epoch: epoch) : o.lr
    }

    public var setup: SpaceSetup {
        SpaceSetup(data: data, seed: seed, batch: batch, evalBatch: evalBatch, maxSteps: maxSteps, allowNone: allowNone)
    }

    /// The space's own options.
    public func options<S: SearchSpace>(_ type: S.Type) throws -> S.Options {
        do { return try network.decode(S.Options.self) } catch {
            throw RunError.config("the network options do not fit the \(S.id) space (\(error))")
        }
    }

    /// One-line errors for settings that cannot work, before anything is built.
    public func validate() throws {
        func bad(_ m: String) -> RunError { .config(m) }
        // Bounds before anything is allocated: a number a user or a file gives never reaches an allocation unchecked.
        if !(1...RunConfig.maxEpochs).contains(epochs) { throw bad("--epochs must be between 1 and \(RunConfig.maxEpochs)") }
        if !(2...65_536).contains(batch) { throw bad("--batch must be between 2 and 65536") }
        if !(1...65_536).contains(evalBatch) || !(0...10_000_000).contains(maxSteps) {
            throw bad("--eval-batch must be between 1 and 65536 and --max-steps between 0 and 10000000")
        }
        if let s = selection, s.samples > 1_000_000 || s.batches > 1_000_000 || s.top > 1_000_000 || (s.batchSize ?? 1) > 65_536 {
            throw bad("--search-samples, --search-batches and --search-top must be at most 1000000, --search-batch-size at most 65536")
        }
        if let n = nsas, n.archiveSize > 1000 || n.recentSize > 1_000_000 || n.knnK > 1000 || n.noveltyDraws > 1_000_000 {
            throw bad("--archive-size and --knn-k must be at most 1000, --recent-size and --novelty-draws at most 1000000")
        }
        if let w = wpl, w.stepsPerPath > 1_000_000 { throw bad("--wpl-steps-per-path must be at most 1000000") }
        let o = optimizer
        if !(o.lr > 0) || !(o.lrMin >= 0) || (o.cosine && o.lrMin > o.lr) { throw bad("need 0 <= --lr-min <= --lr and --lr > 0") }
        if !(0..<1).contains(o.momentum) || !(o.weightDecay >= 0) || !(o.clip > 0) {
            throw bad("need 0 <= --momentum < 1, --weight-decay >= 0, --clip > 0")
        }
        if let s = selection, s.samples < 1 || s.batches < 1 || s.top < 1 || (s.batchSize ?? 1) < 1 {
            throw bad("--search-samples, --search-batches, --search-batch-size and --search-top must be positive")
        }
        if let r = randomnas, !(1...64).contains(r.pathsPerStep) { throw bad("--paths-per-step must be between 1 and 64") }
        if let n = nsas, !(n.beta >= 0) || n.archiveSize < 1 || n.recentSize < 1 || n.knnK < 1 || n.noveltyDraws < 1 {
            throw bad("need --nsas-beta >= 0 and positive --archive-size, --recent-size, --knn-k, --novelty-draws")
        }
        if let n = nsas, n.normalize, n.mode != .loss { throw bad("--nsas-normalize applies to --nsas-mode loss (the summed loss of Eq. 8)") }
        if let w = wpl, !(w.eps >= 0) || w.stepsPerPath < 1 || !(0..<1).contains(w.fisherDecay) {
            throw bad("need --wpl-eps >= 0, --wpl-steps-per-path >= 1, 0 <= --wpl-fisher-decay < 1")
        }
        if let g = gdas, !(g.tauMax > 0) || !(g.tauMin > 0) { throw bad("GDAS temperatures must be positive") }
        if let s = standalone {
            if !(0..<1).contains(s.dropPath) || !(s.auxiliaryWeight >= 0) || s.cutout < 0 || s.nonmono < 1 {
                throw bad("need 0 <= --drop-path < 1, --auxiliary-weight >= 0, --cutout >= 0")
            }
        }
        try validateSpace(SpaceRegistry.type(space))
    }

    func validateSpace<S: SearchSpace>(_ type: S.Type) throws { try S.validate(try options(S.self)) }
}

public enum RunError: Error, CustomStringConvertible, Equatable {
    case config(String)
    case diverged(epoch: Int, step: Int, loss: Float)
    /// A weight, buffer or optimizer state that is not finite (NaN or infinite) at a checkpoint.
    case nonFinite(tensor: String, epoch: Int, step: Int)
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .config(let m): return m
        case .diverged(let e, let s, let l):
            return "training diverged at epoch \(e), step \(s): loss is \(l); lower --lr (files written so far are kept)"
        case .nonFinite(let t, let e, let s):
            return "training diverged: \(t) is not finite after epoch \(e) (step \(s) of the run); no checkpoint was written for it, the newest one is the last good state; lower --lr"
        case .output(let p, let r): return "\(p): \(r)"
        }
    }
}
