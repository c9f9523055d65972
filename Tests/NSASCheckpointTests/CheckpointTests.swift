import Foundation
import NSASCheckpoint
import Testing

@Suite struct CheckpointTests {
    func tempPath(_ name: String) -> String { NSTemporaryDirectory() + "nsas-ckpt-\(getpid())-\(name)" }

    func sample() -> [CheckpointWriter.Section] {
        var v = [Float](repeating: 0, count: 5000)
        for i in v.indices { v[i] = Float(sin(Double(i) * 0.01)) * 0.05 }
        let tensors = [StoredTensor(name: "stem.conv.weight", shape: [50, 100], values: v),
                       StoredTensor(name: "bn.running_mean", shape: [3], values: [1, 2, 3]),
                       StoredTensor(name: "scalar", shape: [], values: [7])]
        return [CheckpointWriter.Section("config", Array(#"{"method":"randomnas","seed":3}"#.utf8)),
                CheckpointWriter.Section("weights", TensorCodec.encode(tensors), codec: .zstdShuffle4),
                CheckpointWriter.Section("paths", Array("a~0|b~1\nc~0|d~1\n".utf8), codec: .raw),
                CheckpointWriter.Section("empty", [], codec: .zstd)]
    }

    @Test func roundTrip() throws {
        let path = tempPath("rt.nsasckpt")
        defer { unlink(path) }
        try CheckpointWriter.write(sample(), to: path)
        let f = try CheckpointFile(path)
        #expect(f.sectionNames == ["config", "weights", "paths", "empty"])
        #expect(try String(decoding: f.read("paths"), as: UTF8.self) == "a~0|b~1\nc~0|d~1\n")
        let t = try f.tensors("weights")
        #expect(t.count == 3 && t[0].shape == [50, 100] && t[1].values == [1, 2, 3] && t[2].shape == [] && t[2].values == [7])
        #expect(try f.read("empty").isEmpty)
        try f.verify()
        #expect(throws: CheckpointError.self) { try f.read("optimizer") }
        // No temporary file is left behind.
        let dir = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("rt.nsasckpt.tmp") }.isEmpty)
    }

    @Test func shuffleHelpsFloatData() throws {
        var v = [Float](repeating: 0, count: 20000)
        var s: UInt64 = 1
        // Weights as initialised: uniform with full mantissas (the exponent bytes repeat).
        for i in v.indices { s = s &* 6364136223846793005 &+ 1; v[i] = (Float(s >> 40) / Float(1 << 24) - 0.5) * 0.2 }
        let bytes = TensorCodec.encode([StoredTensor(name: "w", shape: [20000], values: v)])
        let plain = try CheckpointWriter.encode([CheckpointWriter.Section("w", bytes, codec: .zstd)]).count
        let shuffled = try CheckpointWriter.encode([CheckpointWriter.Section("w", bytes, codec: .zstdShuffle4)]).count
        #expect(shuffled < plain)
    }

    /// Every corruption is a CheckpointError (or, for a flip in padding, an intact read): never a
    /// crash, a hang or a huge allocation.
    @Test func fuzzedFilesFailCleanly() throws {
        let good = try CheckpointWriter.encode(sample())
        let path = tempPath("fuzz.nsasckpt")
        defer { unlink(path) }
        func check(_ bytes: [UInt8]) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do {
                let f = try CheckpointFile(path)
                try f.verify()
                _ = try f.tensors("weights")
            } catch is CheckpointError {
            } catch { Issue.record("unexpected error type: \(error)") }
        }
        var rng: UInt64 = 12345
        for _ in 0..<300 {
            var b = good
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            b[Int(rng >> 33) % b.count] ^= UInt8(truncatingIfNeeded: rng >> 20) | 1
            check(b)
        }
        // Truncations at every section boundary and at many other points.
        let f = try { () throws -> CheckpointFile in
            _ = FileManager.default.createFile(atPath: path, contents: Data(good)); return try CheckpointFile(path) }()
        var cuts = Set(f.entries.flatMap { [Int($0.offset), Int($0.offset + $0.storedLength)] })
        cuts.formUnion(stride(from: 0, to: good.count, by: max(1, good.count / 97)))
        for c in cuts where c < good.count { check(Array(good.prefix(c))) }
        // A zeroed header and huge length fields.
        var zero = good; for i in 0..<24 { zero[i] = 0 }; check(zero)
        var huge = good; for i in 0..<8 { huge[24 + 16 + 8 + 8 + i] = 0xff }; check(huge)   // first section's stored length
        var hugeRaw = good; for i in 0..<8 { hugeRaw[24 + 16 + 8 + 16 + i] = 0x7f }; check(hugeRaw)
        var count = good; count[12] = 0xff; count[13] = 0xff; check(count)
    }

    @Test func wrongVersionSaysWhatToDo() throws {
        var b = try CheckpointWriter.encode(sample())
        b[8] = 9
        let path = tempPath("v.nsasckpt")
        defer { unlink(path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(b))
        do { _ = try CheckpointFile(path); Issue.record("no error") } catch let e as CheckpointError {
            #expect(e.description.contains("version 9") && e.description.contains("newer nsas"))
        }
        #expect(throws: CheckpointError.self) { try CheckpointFile(tempPath("missing")) }
        #expect(throws: CheckpointError.self) { try CheckpointWriter.write(sample(), to: "/nonexistent-dir/x.nsasckpt") }
    }
}
