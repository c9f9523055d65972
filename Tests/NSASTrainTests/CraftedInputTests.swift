import Foundation
import NSASCheckpoint
import Testing

/// Runs one of the toolkit's commands (built beside nsas-train); returns exit status and stderr.
func command(_ tool: String, _ args: [String], timeout: TimeInterval = 60) throws -> (status: Int32, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: (nsasTrainBinary! as NSString).deletingLastPathComponent + "/" + tool)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    let err = Pipe()
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning, Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); p.waitUntilExit(); return (-1, "timed out after \(timeout) s") }
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (p.terminationStatus, text)
}

/// Hostile input (issue 16's reproducers): each gets one line and an exit code below 128.
@Suite(.serialized) struct CraftedInputTests {
    static let edges = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]"

    func tmp(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-crafted-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func oneLine(_ r: (status: Int32, err: String), _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status > 0 && r.status < 128, "exit \(r.status): \(r.err)", sourceLocation: sourceLocation)
        #expect(r.err.contains(expected), "\(r.err)", sourceLocation: sourceLocation)
        #expect(r.err.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1 || r.err.contains("Usage:") || r.err.contains("USAGE"),
                "\(r.err)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: nsasTrainBinary != nil)) func hugeAndDeepGenotypes() throws {
        let dir = try tmp("genotype")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for concat in ["range(0, 9223372036854775807)", "range(0, 10000000)"] {
            let g = "Genotype(normal=\(Self.edges), normal_concat=\(concat), reduce=\(Self.edges), reduce_concat=[2, 3, 4, 5])"
            let r = try command("nsas-draw", ["cell", "--genotype", g, "--out", dir + "/c.png"], timeout: 20)
            oneLine(r, "is too long: a genotype lists at most 128 values")
            #expect(r.err.count < 400)
            oneLine(try command("nsas-train", ["--method", "standalone", "--genotype", g, "--epochs", "1"], timeout: 20), "too long")
        }
        // 100 nodes: more than a cell may have.
        let pairs = (0..<100).map { "('skip_connect', \($0)), ('skip_connect', \($0 + 1))" }.joined(separator: ", ")
        let rnn = "Genotype(recurrent=[" + (0..<100).map { "('tanh', \($0))" }.joined(separator: ", ") + "], concat=range(1, 101))"
        oneLine(try command("nsas-draw", ["cell", "--genotype", "Genotype(normal=[\(pairs)], reduce=[\(pairs)])", "--out", dir + "/c.png"], timeout: 20),
                "at most")
        oneLine(try command("nsas-draw", ["cell", "--genotype", rnn, "--out", dir + "/r.png"], timeout: 20), "at most 64")
    }

    @Test(.enabled(if: nsasTrainBinary != nil)) func outputsAndOptions() throws {
        let dir = try tmp("outputs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A FIFO is no checkpoint: refused at once instead of blocking.
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(try command("nsas-ckpt", ["verify", fifo], timeout: 10).status == 1)   // its FAILED line goes to standard output
        oneLine(try command("nsas-ckpt", ["info", fifo], timeout: 10), "is not a regular file")
        // A folder as --out of a picture.
        let r = try command("nsas-draw", ["cell", "--genotype", "NSAS", "--out", dir + "/"], timeout: 20)
        #expect(r.status == 64 && r.err.contains("is a folder"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/-normal.png"))
        // A --track genotype the supernet cannot hold is refused before anything trains.
        let three = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], "
            + "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])\n"
        try three.write(toFile: dir + "/track.txt", atomically: true, encoding: .utf8)
        let started = Date()
        oneLine(try command("nsas-train", ["--method", "randomnas", "--track", dir + "/track.txt", "--out", dir + "/trk"] + KillResumeTests.cnn),
                "has 3 nodes a cell; the supernet's cells have 4")
        #expect(Date().timeIntervalSince(started) < 20)
        // A network far larger than any machine's memory: refused with the estimate, nothing allocated.
        let huge = Date()
        oneLine(try command("nsas-train", ["--method", "randomnas", "--data", "default", "--layers", "200", "--channels", "4096", "--out", dir + "/huge"], timeout: 20),
                "supernet needs at least")
        #expect(Date().timeIntervalSince(huge) < 20 && !FileManager.default.fileExists(atPath: dir + "/huge/epoch-0001.nsasckpt"))
        let t = try command("nsas-replay", [dir, "--tolerance", "nan"], timeout: 20)
        #expect(t.status == 64 && t.err.contains("--tolerance must be a finite number"), "\(t.err)")
    }

    /// A real tiny NSAS run, then checkpoints rewritten with valid checksums but crafted content.
    @Test(.enabled(if: nsasTrainBinary != nil)) func craftedCheckpoints() throws {
        let dir = try tmp("ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/run"
        let (p, err) = try train(["--method", "nsas", "--archive-size", "2", "--epochs", "2", "--search-samples", "2", "--search-top", "1",
                                  "--out", run] + KillResumeTests.cnn, wait: true)
        #expect(p.terminationStatus == 0, "\(err)")
        let source = run + "/epoch-0001.nsasckpt"

        /// Writes the run folder `name` holding epoch 1 with `section` replaced by `edit(section JSON)`.
        func crafted(_ name: String, _ section: String, _ edit: (inout [String: Any]) -> Void = { _ in },
                     tensors: (inout [StoredTensor]) -> Void = { _ in }) throws -> String {
            let f = try CheckpointFile(source)
            let folder = dir + "/" + name
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var sections: [CheckpointWriter.Section] = []
            for e in f.entries {
                var bytes = try f.read(e.name)
                if e.name == section && e.name == "optimizer" {
                    var t = try f.tensors(e.name)
                    tensors(&t)
                    bytes = TensorCodec.encode(t)
                } else if e.name == section {
                    var o = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
                    edit(&o)
                    bytes = [UInt8](try JSONSerialization.data(withJSONObject: o))
                }
                sections.append(.init(e.name, bytes, codec: e.codec))
            }
            try CheckpointWriter.write(sections, to: folder + "/epoch-0001.nsasckpt")
            try "epoch-0001.nsasckpt\n".write(toFile: folder + "/latest", atomically: true, encoding: .utf8)
            return folder
        }

        let epoch = try crafted("epoch", "state") { $0["epoch"] = -3 }
        oneLine(try command("nsas-train", ["--resume", epoch]), "not a run's state")
        #expect(!FileManager.default.fileExists(atPath: epoch + "/epoch--002.nsasckpt"))

        let member = try crafted("member", "archive") { o in
            var members = o["members"] as! [[String: Any]]
            var normal = members[0]["normal"] as! [[String: Any]]
            normal[0]["input"] = 50
            members[0]["normal"] = normal
            o["members"] = members
        }
        oneLine(try command("nsas-train", ["--resume", member]), "archive")

        let capacity = try crafted("capacity", "archive") { $0["capacity"] = 0 }
        oneLine(try command("nsas-train", ["--resume", capacity]), "holds an archive of 0")
        let draws = try crafted("draws", "archive") { $0["draws"] = -1 }
        oneLine(try command("nsas-train", ["--resume", draws], timeout: 30), "draws")

        // A momentum tensor taken out (or cut short): refused, never resumed with fresh momentum.
        let noMomentum = try crafted("momentum", "optimizer", tensors: { $0.removeLast() })
        oneLine(try command("nsas-train", ["--resume", noMomentum]), "has no tensor 'momentum.")
        let shortMomentum = try crafted("short", "optimizer", tensors: { t in
            let i = t.firstIndex { $0.values.count > 1 }!
            t[i].values.removeLast(); t[i].shape = [t[i].values.count]
        })
        oneLine(try command("nsas-train", ["--resume", shortMomentum]), "values, the parameter has")

        let channels = try crafted("channels", "config") { o in
            var r = o["run"] as! [String: Any]
            var n = r["network"] as! [String: Any]
            n["channels"] = 100_000
            r["network"] = n
            o["run"] = r
        }
        oneLine(try command("nsas-rank", ["--checkpoint", channels, "--sample", "2"], timeout: 30), "--channels")

        // `latest` naming a checkpoint outside the folder.
        let outside = dir + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "../run/epoch-0001.nsasckpt\n".write(toFile: outside + "/latest", atomically: true, encoding: .utf8)
        oneLine(try command("nsas-train", ["--resume", outside]), "not a checkpoint of this folder")
    }

    /// Resume refuses data that differs from what the run trained on (its recorded fingerprint),
    /// unless --allow-changed-data.
    @Test(.enabled(if: nsasTrainBinary != nil)) func resumeOnChangedDataIsRefused() throws {
        let dir = try tmp("data")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        func write(_ stem: String, count: Int, pixel: UInt8) throws {
            let pixels = (0..<count * 64).map { UInt8(($0 * 7) % 251) ^ pixel }
            try Data([0, 0, 8, 3] + be(count) + be(8) + be(8) + pixels).write(to: URL(fileURLWithPath: dir + "/data/\(stem)-images-idx3-ubyte"))
            try Data([0, 0, 8, 1] + be(count) + (0..<count).map { UInt8($0 % 10) }).write(to: URL(fileURLWithPath: dir + "/data/\(stem)-labels-idx1-ubyte"))
        }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        try write("train", count: 40, pixel: 0); try write("t10k", count: 10, pixel: 0)
        let args = ["--method", "randomnas", "--data", dir + "/data", "--layers", "3", "--channels", "4", "--batch", "8", "--eval-batch", "20",
                    "--max-steps", "1", "--epochs", "1", "--search-samples", "1", "--search-top", "1", "--quiet", "--out", dir + "/run"]
        let (p, err) = try train(args, wait: true)
        #expect(p.terminationStatus == 0, "\(err)")
        try write("train", count: 40, pixel: 1)
        oneLine(try command("nsas-train", ["--resume", dir + "/run"]), "trained on other data")
        let r = try command("nsas-train", ["--resume", dir + "/run", "--allow-changed-data", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        let bad = try command("nsas-train", ["--allow-changed-data", "--epochs", "1"])
        #expect(bad.status == 64 && bad.err.contains("--allow-changed-data applies to --resume"), "\(bad.err)")
    }
}
