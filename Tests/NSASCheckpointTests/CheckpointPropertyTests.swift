import Foundation
import NSASCheckpoint
import PropertyBased
import Testing

/// Property tests: whatever sections and tensors are written, the same bytes, codecs and values
/// (bit for bit: -0, subnormals, the extremes) are read back.
@Suite struct CheckpointPropertyTests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-ckpt-prop-\(getpid())").path

    /// Random generator input, turned into sections: `sizes` gives each section's length and
    /// `fill` its bytes (a byte generator per byte would make shrinking slow for no gain).
    static func sections(_ sizes: [Int], codecs: [Int], fill: UInt64) -> [CheckpointWriter.Section] {
        var state = fill | 1
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        return sizes.enumerated().map { i, size in
            // Mostly-repeating bytes compress; random ones do not: both paths of every codec run.
            let bytes = (0..<size).map { j in UInt8(truncatingIfNeeded: size % 3 == 0 ? j % 7 : Int(next() & 0xff)) }
            return CheckpointWriter.Section("s\(i)-\(size)", bytes, codec: CheckpointFormat.Codec(rawValue: UInt32(codecs[i % codecs.count] % 3))!)
        }
    }

    @Test func sectionsRoundTrip() async throws {
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: Self.folder) }
        await propertyCheck(count: 60, input: Gen.int(in: 0...5000).array(of: 1...8), Gen.int(in: 0...2).array(of: 1...8), Gen.uint64()) { sizes, codecs, fill in
            let written = Self.sections(sizes, codecs: codecs, fill: fill)
            let path = Self.folder + "/c.nsasckpt"
            try CheckpointWriter.write(written, to: path)
            let f = try CheckpointFile(path)
            #expect(f.sectionNames == written.map(\.name))
            for (e, s) in zip(f.entries, written) {
                #expect(e.codec == s.codec || e.codec == .raw)   // stored raw when compression does not shrink it
                #expect(try f.read(s.name) == s.bytes)
            }
            try f.verify()
        }
    }

    @Test func tensorsRoundTripBitForBit() async throws {
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: Self.folder) }
        // A tensor: a shape of rank 0...4 (dimensions 0...6) and raw float bit patterns.
        let shape = Gen.int(in: 0...6).array(of: 0...4)
        let bits = Gen.uint32().array(of: 0...2000)
        await propertyCheck(count: 60, input: shape.array(of: 1...6), bits) { shapes, bits in
            var tensors: [StoredTensor] = []
            var k = 0
            for (i, s) in shapes.enumerated() {
                let n = s.reduce(1, *)
                let values = (0..<n).map { j -> Float in
                    let v = Float(bitPattern: bits.isEmpty ? 0 : bits[(k + j) % bits.count])
                    return v.isFinite ? v : 0   // checkpoints never hold non-finite values
                }
                k += n
                tensors.append(StoredTensor(name: "t\(i).ü", shape: s, values: values))
            }
            let path = Self.folder + "/t.nsasckpt"
            try CheckpointWriter.write([.init("w", TensorCodec.encode(tensors), codec: .zstdShuffle4)], to: path)
            let back = try CheckpointFile(path).tensors("w")
            #expect(back.map(\.name) == tensors.map(\.name))
            #expect(back.map(\.shape) == tensors.map(\.shape))
            #expect(back.map { $0.values.map(\.bitPattern) } == tensors.map { $0.values.map(\.bitPattern) })
        }
    }
}
