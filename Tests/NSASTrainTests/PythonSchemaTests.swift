import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTrain
import Testing

/// The first python3 that imports numpy.
let python3: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/root/.pyenv/shims/python3"].first { py in
    guard FileManager.default.isExecutableFile(atPath: py), let p = try? Process.run(URL(fileURLWithPath: py), arguments: ["-c", "import numpy"]) else {
        return false
    }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// Tools/nsas_ckpt.py decodes every section of real checkpoints of every kind of run.
@Suite struct PythonSchemaTests {
    func summary(_ path: String) throws -> [String: Any] {
        let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/nsas_ckpt.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python3!)
        p.arguments = [tool, path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test(.enabled(if: python3 != nil, "needs python3 with numpy"))
    func everySectionOfEveryKindOfRunDecodes() throws {
        var dirs: [(String, RunConfig)] = []
        for (name, c) in [("gdas-nsas", tinyCNN(.gdasNSAS, epochs: 1, steps: 2)), ("wpl-rnn", tinyRNN(.wpl, epochs: 1, steps: 4))] {
            let dir = freshDir("py-\(name)")
            let s = try Search.make(c, log: quietLog())
            s.checkpointer = RunCheckpointer(directory: dir)
            _ = try s.run(startEpoch: 0)
            dirs.append((dir, c))
        }
        var sa = tinyRNN(.standalone, epochs: 2, steps: 4)
        sa.network = try JSONValue(encoding: { var o = try sa.network.decode(NSASSearchSpace.DARTSRNNOptions.self); o.nonmono = 1; return o }())
        let dir = freshDir("py-rnn-standalone")
        let st = try Standalone.make(sa, log: quietLog())
        st.checkpointer = RunCheckpointer(directory: dir)
        _ = try st.run(startEpoch: 0)
        dirs.append((dir, sa))
        for (dir, c) in dirs {
            let path = try RunDirectory.latest(dir)
            let f = try CheckpointFile(path)
            let obj = try summary(path)
            #expect(obj["sections"] as? [String] == f.entries.map(\.name))
            for name in f.entries.map(\.name) { #expect(obj[name] != nil && !(obj[name] is [String: Int] && (obj[name] as! [String: Int])["raw_bytes"] != nil), "\(name) not decoded") }
            let config = (obj["config"] as! [String: Any])["run"] as! [String: Any]
            #expect(config["method"] as? String == c.method.rawValue && config["space"] as? String == c.space.rawValue)
            let weights = obj["weights"] as! [String: [String: Any]]
            for t in try f.tensors("weights").prefix(5) {
                let sum = t.values.reduce(0.0) { $0 + Double($1) }
                #expect(abs((weights[t.name]?["sum"] as? Double ?? .nan) - sum) <= 1e-9 * max(1, abs(sum)))
            }
        }
    }
}
