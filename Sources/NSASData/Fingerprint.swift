/// A fingerprint of loaded data (what a run trained on, not the files it came from): FNV-1a 64 over
/// every split's contents, with the sizes. A resumed run compares it with the one its checkpoints
/// recorded, so training silently continuing on changed data is refused.
public struct Fingerprint {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    }
    public mutating func add(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { add($0) } }
    public var hex: String { String(h, radix: 16) }
}

extension DataSplits {
    /// `fnv1a64:HEX` over the train, held-out and test images and labels, with their counts and shape.
    public static func fingerprint(_ sets: [ImageSet]) -> String {
        var f = Fingerprint()
        for s in sets {
            f.add(s.count); f.add(s.channels); f.add(s.height); f.add(s.width); f.add(s.classes)
            f.add(s.pixels)
            for l in s.labels { f.add(l) }
        }
        return "fnv1a64:" + f.hex + " (\(sets.map { String($0.count) }.joined(separator: "/")) images)"
    }
}

extension Corpus {
    /// `fnv1a64:HEX` over the vocabulary and the three token streams.
    public var fingerprint: String {
        var f = Fingerprint()
        for w in words { f.add(Array(w.utf8)); f.add(0) }
        for s in [train, valid, test] { f.add(s.count); for t in s { f.add(Int(t)) } }
        return "fnv1a64:" + f.hex + " (\(train.count)/\(valid.count)/\(test.count) tokens)"
    }
}
