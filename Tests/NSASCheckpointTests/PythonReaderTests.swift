import Foundation
import NSASCheckpoint
import Testing

/// Tools/nsas_ckpt.py reads what the Swift writer wrote: proof that the documented format is enough.
let pythonWithNumpy: String? = {
    for py in ["/usr/bin/python3", "/usr/local/bin/python3", "/root/.pyenv/shims/python3"] where FileManager.default.isExecutableFile(atPath: py) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: py)
        p.arguments = ["-c", "import numpy, shutil, sys; sys.exit(0 if shutil.which('zstd') else 1)"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        if (try? p.run()) != nil { p.waitUntilExit(); if p.terminationStatus == 0 { return py } }
    }
    return nil
}()

@Suite struct PythonReaderTests {
    @Test(.enabled(if: pythonWithNumpy != nil, "needs python3 with numpy and the zstd command"))
    func pythonReadsTheWeights() throws {
        let path = NSTemporaryDirectory() + "nsas-py-\(getpid()).nsasckpt"
        defer { unlink(path) }
        let tensors = [StoredTensor(name: "a.weight", shape: [3, 4], values: (0..<12).map { Float($0) * 0.5 }),
                       StoredTensor(name: "b.running_var", shape: [2], values: [1.25, -2])]
        try CheckpointWriter.write([CheckpointWriter.Section("config", Array(#"{"x":1}"#.utf8)),
                                    CheckpointWriter.Section("weights", TensorCodec.encode(tensors), codec: .zstdShuffle4),
                                    CheckpointWriter.Section("paths", Array("p~0|q~1\nr~0|s~1".utf8))], to: path)
        let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/nsas_ckpt.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: pythonWithNumpy!)
        p.arguments = [tool, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(obj["sections"] as? [String] == ["config", "weights", "paths"])
        let w = obj["weights"] as! [String: [String: Any]]
        #expect(w["a.weight"]?["shape"] as? [Int] == [3, 4])
        #expect((w["a.weight"]?["sum"] as? Double) == 33)
        #expect((w["b.running_var"]?["sum"] as? Double) == -0.75)
        #expect(obj["paths"] as? [String] == ["p~0|q~1", "r~0|s~1"])
    }
}
