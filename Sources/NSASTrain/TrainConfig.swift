import NSASBackends

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
}

/// How NSAS uses its archive (SPEC.md section 4).
public enum NSASMode: String, Codable, CaseIterable, Sendable {
    /// The paper's Eq. 8: the archived architectures' losses on the same batch, with gradients.
    case loss
    /// The replay-buffer variant: each archived architecture trained as an extra single-path step.
    case replay
    /// The public reference code: constraint losses computed without gradient (plain RandomNAS with
    /// the gradient scaled by 0.5), to show what that costs.
    case referenceCompat = "reference-compat"
}

/// How the constraint losses are combined: L = L_current + beta * (sum or mean over the archive).
/// The reference code's 0.5 * L_current + 0.5 * mean is `mean` with beta = 1, halved.
public enum ConstraintReduction: String, Codable, CaseIterable, Sendable { case sum, mean }

/// Everything a run needs; defaults follow SPEC.md (the NSAS/DARTS search settings).
public struct TrainConfig: Codable, Hashable, Sendable {
    public var method: Method = .randomnas
    public var data: String = "default"
    public var epochs: Int = 5
    public var layers: Int = 8
    public var channels: Int = 16
    public var batch: Int = 64
    public var seed: UInt64 = 0
    public var lr: Float = 0.025
    public var lrMin: Float = 0.001
    public var momentum: Float = 0.9
    public var weightDecay: Float = 3e-4
    public var clip: Float = 5
    public var backend: String = BackendKind.default.rawValue
    /// Fraction of the training file held out for scoring architectures (not for `default`, which ships one).
    public var heldoutFraction: Double = 0.5
    /// Stop each epoch after this many steps (0: the whole split). For quick looks and tests.
    public var maxSteps: Int = 0
    public var evalBatch: Int = 256

    // RandomNAS selection: random search over the trained supernet.
    public var searchSamples: Int = 50
    public var searchBatches: Int = 2
    public var searchTop: Int = 10
    public var allowNone: Bool = false

    // NSAS.
    public var nsasBeta: Float = 1
    public var archiveSize: Int = 4
    public var recentSize: Int = 50
    public var knnK: Int = 10
    public var noveltyDraws: Int = 10
    public var constraintReduction: ConstraintReduction = .mean
    public var nsasMode: NSASMode = .loss

    // WPL (SPEC.md section 3): penalty (eps/2) sum F (theta - theta*)^2.
    public var wplEps: Float = 1
    /// Steps each sampled path is trained for; theta* is the weights when the path started (with
    /// one step per path the penalty's gradient would always be zero).
    public var wplStepsPerPath: Int = 4
    /// Decay of the running diagonal Fisher estimate F = decay F + (1 - decay) g^2.
    public var wplFisherDecay: Float = 0.9

    // Stand-alone training.
    public var genotype: String? = nil
    public var dropPath: Float = 0.2
    public var auxiliaryWeight: Float = 0.4
    public var cutout: Int = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case method
        case data
        case epochs
        case layers
        case channels
        case batch
        case seed
        case lr
        case lrMin
        case momentum
        case weightDecay
        case clip
        case backend
        case heldoutFraction
        case maxSteps
        case evalBatch
        case searchSamples
        case searchBatches
        case searchTop
        case allowNone
        case nsasBeta
        case archiveSize
        case recentSize
        case knnK
        case noveltyDraws
        case constraintReduction
        case nsasMode
        case wplEps
        case wplStepsPerPath
        case wplFisherDecay
        case genotype
        case dropPath
        case auxiliaryWeight
        case cutout
    }

    /// Decodes what a checkpoint holds; options it lacks (written by an older nsas) keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(type(of: method).self, forKey: .method) { method = v }
        if let v = try c.decodeIfPresent(type(of: data).self, forKey: .data) { data = v }
        if let v = try c.decodeIfPresent(type(of: epochs).self, forKey: .epochs) { epochs = v }
        if let v = try c.decodeIfPresent(type(of: layers).self, forKey: .layers) { layers = v }
        if let v = try c.decodeIfPresent(type(of: channels).self, forKey: .channels) { channels = v }
        if let v = try c.decodeIfPresent(type(of: batch).self, forKey: .batch) { batch = v }
        if let v = try c.decodeIfPresent(type(of: seed).self, forKey: .seed) { seed = v }
        if let v = try c.decodeIfPresent(type(of: lr).self, forKey: .lr) { lr = v }
        if let v = try c.decodeIfPresent(type(of: lrMin).self, forKey: .lrMin) { lrMin = v }
        if let v = try c.decodeIfPresent(type(of: momentum).self, forKey: .momentum) { momentum = v }
        if let v = try c.decodeIfPresent(type(of: weightDecay).self, forKey: .weightDecay) { weightDecay = v }
        if let v = try c.decodeIfPresent(type(of: clip).self, forKey: .clip) { clip = v }
        if let v = try c.decodeIfPresent(type(of: backend).self, forKey: .backend) { backend = v }
        if let v = try c.decodeIfPresent(type(of: heldoutFraction).self, forKey: .heldoutFraction) { heldoutFraction = v }
        if let v = try c.decodeIfPresent(type(of: maxSteps).self, forKey: .maxSteps) { maxSteps = v }
        if let v = try c.decodeIfPresent(type(of: evalBatch).self, forKey: .evalBatch) { evalBatch = v }
        if let v = try c.decodeIfPresent(type(of: searchSamples).self, forKey: .searchSamples) { searchSamples = v }
        if let v = try c.decodeIfPresent(type(of: searchBatches).self, forKey: .searchBatches) { searchBatches = v }
        if let v = try c.decodeIfPresent(type(of: searchTop).self, forKey: .searchTop) { searchTop = v }
        if let v = try c.decodeIfPresent(type(of: allowNone).self, forKey: .allowNone) { allowNone = v }
        if let v = try c.decodeIfPresent(type(of: nsasBeta).self, forKey: .nsasBeta) { nsasBeta = v }
        if let v = try c.decodeIfPresent(type(of: archiveSize).self, forKey: .archiveSize) { archiveSize = v }
        if let v = try c.decodeIfPresent(type(of: recentSize).self, forKey: .recentSize) { recentSize = v }
        if let v = try c.decodeIfPresent(type(of: knnK).self, forKey: .knnK) { knnK = v }
        if let v = try c.decodeIfPresent(type(of: noveltyDraws).self, forKey: .noveltyDraws) { noveltyDraws = v }
        if let v = try c.decodeIfPresent(type(of: constraintReduction).self, forKey: .constraintReduction) { constraintReduction = v }
        if let v = try c.decodeIfPresent(type(of: nsasMode).self, forKey: .nsasMode) { nsasMode = v }
        if let v = try c.decodeIfPresent(type(of: wplEps).self, forKey: .wplEps) { wplEps = v }
        if let v = try c.decodeIfPresent(type(of: wplStepsPerPath).self, forKey: .wplStepsPerPath) { wplStepsPerPath = v }
        if let v = try c.decodeIfPresent(type(of: wplFisherDecay).self, forKey: .wplFisherDecay) { wplFisherDecay = v }
        genotype = try c.decodeIfPresent(String.self, forKey: .genotype) ?? genotype
        if let v = try c.decodeIfPresent(type(of: dropPath).self, forKey: .dropPath) { dropPath = v }
        if let v = try c.decodeIfPresent(type(of: auxiliaryWeight).self, forKey: .auxiliaryWeight) { auxiliaryWeight = v }
        if let v = try c.decodeIfPresent(type(of: cutout).self, forKey: .cutout) { cutout = v }
    }


    /// One-line errors for settings that cannot work.
    public func validate() throws {
        func bad(_ m: String) -> TrainError { .config(m) }
        if epochs < 1 { throw bad("--epochs must be at least 1") }
        if layers < 3 { throw bad("--layers must be at least 3 (reduction cells sit at L/3 and 2L/3)") }
        if channels < 2 || channels % 2 != 0 { throw bad("--channels must be even and at least 2") }
        if batch < 2 { throw bad("--batch must be at least 2 (batch norm needs two samples)") }
        if !(lr > 0) || lrMin < 0 || lrMin > lr { throw bad("need 0 <= --lr-min <= --lr and --lr > 0") }
        if !(0..<1).contains(momentum) || weightDecay < 0 || !(clip > 0) { throw bad("need 0 <= --momentum < 1, --weight-decay >= 0, --clip > 0") }
        if BackendKind(rawValue: backend) == nil { throw bad("--backend must be one of \(BackendKind.allCases.map(\.rawValue).joined(separator: ", "))") }
        if !(heldoutFraction > 0 && heldoutFraction < 1) { throw bad("--heldout-fraction must be in (0, 1)") }
        if maxSteps < 0 || evalBatch < 1 { throw bad("--max-steps >= 0 and --eval-batch >= 1") }
        if searchSamples < 1 || searchBatches < 1 || searchTop < 1 { throw bad("--search-samples, --search-batches and --search-top must be positive") }
        if !(0..<1).contains(dropPath) || auxiliaryWeight < 0 || cutout < 0 { throw bad("need 0 <= --drop-path < 1, --auxiliary-weight >= 0, --cutout >= 0") }
        if wplEps < 0 || wplStepsPerPath < 1 || !(0..<1).contains(wplFisherDecay) {
            throw bad("need --wpl-eps >= 0, --wpl-steps-per-path >= 1, 0 <= --wpl-fisher-decay < 1")
        }
        if nsasBeta < 0 || archiveSize < 1 || recentSize < 1 || knnK < 1 || noveltyDraws < 1 {
            throw bad("need --nsas-beta >= 0 and positive --archive-size, --recent-size, --knn-k, --novelty-draws")
        }
    }
}

public enum TrainError: Error, CustomStringConvertible, Equatable {
    case config(String)
    case diverged(epoch: Int, step: Int, loss: Float)
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .config(let m): return m
        case .diverged(let e, let s, let l):
            return "training diverged at epoch \(e), step \(s): loss is \(l); lower --lr or raise --clip's strictness (files written so far are kept)"
        case .output(let p, let r): return "\(p): \(r)"
        }
    }
}
