import Foundation
import NSASTensor

/// How training images are perturbed: random crop after zero padding, horizontal flip, cutout.
public struct Augmentation: Codable, Hashable, Sendable {
    public var cropPadding: Int
    public var flip: Bool
    /// Side of the square cut out of each training image (0: none). Stand-alone training only.
    public var cutout: Int
    public init(cropPadding: Int = 0, flip: Bool = false, cutout: Int = 0) {
        self.cropPadding = cropPadding; self.flip = flip; self.cutout = cutout
    }
    public static let none = Augmentation()
}

/// A dataset split the NAS way: `train` (what the weights learn from), `heldout` (what
/// architectures are scored on; the supernet never sees it), `test`.
public struct DataSplits: Sendable {
    public var name: String
    public var train: ImageSet
    public var heldout: ImageSet
    public var test: ImageSet
    /// Augmentation suited to the data (crop and flip for CIFAR, crop for the rest).
    public var augmentation: Augmentation
    /// Per-channel normalisation from the training images.
    public var mean: [Float], std: [Float]
    /// What the run trains on (`DataSplits.fingerprint`), recorded in every checkpoint.
    public var fingerprint = ""

    public var channels: Int { train.channels }
    public var imageSize: Int { train.height }
    public var classes: Int { train.classes }
}

public enum DataSource {
    /// Where the embedded default lives: `NSAS_FIXTURES` if set, else `fixtures/` of this checkout.
    public static var fixturesDirectory: String {
        if let env = ProcessInfo.processInfo.environment["NSAS_FIXTURES"], !env.isEmpty { return env }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures").path
    }

    /// Loads `default` (the embedded Fashion-MNIST subset) or a directory of CIFAR-10, CIFAR-100
    /// or IDX files. The training file is split by `seed` into train and held-out parts
    /// (`heldoutFraction`, half by default), except for the default, which ships its held-out part.
    public static func load(_ spec: String, seed: UInt64 = 0, heldoutFraction: Double = 0.5) throws -> DataSplits {
        let fm = FileManager.default
        func exists(_ dir: String, _ names: [String]) -> String? {
            names.map { (dir as NSString).appendingPathComponent($0) }.first { fm.fileExists(atPath: $0) }
        }
        func idx(_ dir: String, _ stem: String) throws -> ImageSet {
            guard let images = exists(dir, ["\(stem)-images-idx3-ubyte", "\(stem)-images-idx3-ubyte.gz", "\(stem)-images.idx3-ubyte"]) else {
                throw DataError.missing(path: (dir as NSString).appendingPathComponent("\(stem)-images-idx3-ubyte[.gz]"), hint: "IDX image file")
            }
            guard let labels = exists(dir, ["\(stem)-labels-idx1-ubyte", "\(stem)-labels-idx1-ubyte.gz", "\(stem)-labels.idx1-ubyte"]) else {
                throw DataError.missing(path: (dir as NSString).appendingPathComponent("\(stem)-labels-idx1-ubyte[.gz]"), hint: "IDX label file")
            }
            return try IDX.read(images: images, labels: labels)
        }

        if spec == "default" {
            let dir = (fixturesDirectory as NSString).appendingPathComponent("default")
            guard fm.fileExists(atPath: dir) else {
                throw DataError.missing(path: dir, hint: "the embedded default ships in fixtures/ of the nsas checkout; set NSAS_FIXTURES to that folder when running from elsewhere")
            }
            let train = try idx(dir, "train"), heldout = try idx(dir, "valid"), test = try idx(dir, "test")
            try sameShape(train, [("held-out", heldout, dir), ("test", test, dir)])
            return splits("default (Fashion-MNIST subset, \(train.count)/\(heldout.count)/\(test.count))", train, heldout, test,
                          Augmentation(cropPadding: 2, flip: true))
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: spec, isDirectory: &isDir) else {
            throw DataError.missing(path: spec, hint: "give a dataset folder or 'default'")
        }
        guard isDir.boolValue else { throw DataError.format(path: spec, reason: "expected a folder holding the dataset's files") }

        let full: ImageSet, test: ImageSet, name: String, aug: Augmentation
        if exists(spec, ["data_batch_1.bin"]) != nil {
            let batches = (1...5).map { (spec as NSString).appendingPathComponent("data_batch_\($0).bin") }
            full = try CIFAR.read(batches, hundred: false)
            test = try CIFAR.read([(spec as NSString).appendingPathComponent("test_batch.bin")], hundred: false)
            name = "CIFAR-10"; aug = Augmentation(cropPadding: 4, flip: true)
        } else if exists(spec, ["train.bin"]) != nil {
            full = try CIFAR.read([(spec as NSString).appendingPathComponent("train.bin")], hundred: true)
            test = try CIFAR.read([(spec as NSString).appendingPathComponent("test.bin")], hundred: true)
            name = "CIFAR-100"; aug = Augmentation(cropPadding: 4, flip: true)
        } else if exists(spec, ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-images.idx3-ubyte"]) != nil {
            full = try idx(spec, "train")
            test = try idx(spec, "t10k")
            name = "IDX"; aug = Augmentation(cropPadding: 2)
        } else {
            throw DataError.unknownLayout(path: spec)
        }
        guard full.count >= 2 else { throw DataError.empty("\(spec) has \(full.count) training images") }
        try sameShape(full, [("test", test, spec)])
        var rng = RNG(seed: seed &+ 0x5EED)
        var order = Array(0..<full.count)
        rng.shuffle(&order)
        let nHeld = max(1, min(full.count - 1, Int(Double(full.count) * heldoutFraction)))
        let train = full.subset(Array(order[nHeld...]).sorted()), held = full.subset(Array(order[..<nHeld]).sorted())
        return splits("\(name) at \(spec) (\(train.count) train / \(held.count) held-out / \(test.count) test)", train, held, test, aug)
    }

    /// Every split has the training images' size, channels and classes: checked when the data is
    /// loaded, not when a network first meets the odd split after hours of training.
    static func sameShape(_ train: ImageSet, _ others: [(String, ImageSet, String)]) throws {
        for (what, set, path) in others where (set.channels, set.height, set.width, set.classes) != (train.channels, train.height, train.width, train.classes) {
            throw DataError.format(path: path, reason: "the \(what) images are \(set.channels)x\(set.height)x\(set.width) in \(set.classes) classes, "
                                   + "the training images \(train.channels)x\(train.height)x\(train.width) in \(train.classes)")
        }
    }

    static func splits(_ name: String, _ train: ImageSet, _ held: ImageSet, _ test: ImageSet, _ aug: Augmentation) -> DataSplits {
        let (mean, std) = train.channelStatistics()
        var s = DataSplits(name: name, train: train, heldout: held, test: test, augmentation: aug, mean: mean, std: std)
        s.fingerprint = DataSplits.fingerprint([train, held, test])
        return s
    }
}

/// Turns images into normalised, augmented batches.
public struct Batcher: Sendable {
    public var mean: [Float], std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
    public init(_ splits: DataSplits) { self.init(mean: splits.mean, std: splits.std) }

    /// Batches of indices covering 0..<count in a seeded random order (or in order), the last one
    /// dropped when it would be smaller than `batchSize` and `dropLast` is set.
    public static func order(count: Int, batchSize: Int, shuffle: Bool, dropLast: Bool, rng: inout RNG) -> [[Int]] {
        var idx = Array(0..<count)
        if shuffle { rng.shuffle(&idx) }
        var out: [[Int]] = []
        var i = 0
        while i < count {
            let end = min(count, i + batchSize)
            if end - i < batchSize && dropLast && !out.isEmpty { break }
            out.append(Array(idx[i..<end])); i = end
        }
        return out
    }

    /// The images at `indices` as a normalised (N, C, H, W) tensor, with their labels.
    public func batch(_ set: ImageSet, _ indices: [Int], augmentation: Augmentation = .none, rng: inout RNG) -> (Tensor, [Int]) {
        let c = set.channels, h = set.height, w = set.width, plane = h * w
        var out = [Float](repeating: 0, count: indices.count * c * plane)
        let scale = (0..<c).map { 1 / (255 * std[$0]) }, shift = (0..<c).map { -mean[$0] / std[$0] }
        for (b, i) in indices.enumerated() {
            let pad = augmentation.cropPadding
            let dy = pad > 0 ? rng.int(below: 2 * pad + 1) - pad : 0, dx = pad > 0 ? rng.int(below: 2 * pad + 1) - pad : 0
            let flip = augmentation.flip && rng.uniform() < 0.5
            // Cutout as DARTS does: rows and columns [centre - L/2, centre + L/2), clipped.
            var cutRows = 0..<0, cutCols = 0..<0
            if augmentation.cutout > 0 {
                let cy = rng.int(below: h), cx = rng.int(below: w), half = augmentation.cutout / 2
                cutRows = max(0, cy - half)..<min(h, cy + half); cutCols = max(0, cx - half)..<min(w, cx + half)
            }
            for ch in 0..<c {
                let src = i * set.imageSize + ch * plane, dst = (b * c + ch) * plane
                for y in 0..<h {
                    for x in 0..<w {
                        // Shifted crop of the zero-padded image (zero = black before normalisation).
                        let sy = y + dy, sx0 = x + dx, sx = flip ? w - 1 - sx0 : sx0
                        var v: Float = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? Float(set.pixels[src + sy * w + sx]) * scale[ch] + shift[ch] : shift[ch]
                        if cutRows.contains(y) && cutCols.contains(x) { v = 0 }
                        out[dst + y * w + x] = v
                    }
                }
            }
        }
        return (try! Tensor(out, shape: [indices.count, c, h, w]), indices.map { set.labels[$0] })   // the count fits the shape by construction
    }
}
