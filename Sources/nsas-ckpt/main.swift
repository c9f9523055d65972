import ArgumentParser
import Foundation
import NSASCheckpoint
import NSASCLI
import NSASRun
import NSASSearchSpace


@main
struct NSASCkpt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-ckpt",
        abstract: "Inspect nsas checkpoints.",
        subcommands: [Info.self, Paths.self, Verify.self])
}

func jsonString(_ obj: Any) -> String {
    (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Configuration, sections and sizes, and metrics of a checkpoint or of every checkpoint of a run folder.")
    @Argument(help: "A checkpoint file or a run folder.") var path: String
    @Flag(help: "One JSON object per file.") var json = false

    func run() throws {
        try runReportingErrors("nsas-ckpt info") {
            var damaged: [String] = []
            defer {
                if !damaged.isEmpty {
                    FileHandle.standardError.write(Data("nsas-ckpt info: \(damaged.count) section(s) could not be read: \(damaged.joined(separator: "; ")) (nsas-ckpt verify tells more)\n".utf8))
                }
            }
            for (i, file) in try RunDirectory.files(path).enumerated() {
                let f = try CheckpointFile(file)
                let sections: [[String: Any]] = f.entries.map {
                    ["name": $0.name, "codec": "\($0.codec)", "stored_bytes": $0.storedLength, "raw_bytes": $0.rawLength]
                }
                func section(_ name: String) -> Any? {
                    guard f.has(name) else { return nil }
                    do { return try JSONSerialization.jsonObject(with: Data(try f.read(name))) } catch {
                        damaged.append("\((file as NSString).lastPathComponent) \(name): \(error)")
                        return nil
                    }
                }
                if json {
                    var obj: [String: Any] = ["file": file, "bytes": f.fileSize, "format_version": f.version, "sections": sections]
                    for name in ["config", "state", "metrics"] { if let v = section(name) { obj[name] = v } }
                    print(jsonString(obj))
                    continue
                }
                print("\(file): format \(f.version), \(f.fileSize) bytes")
                for e in f.entries {
                    let ratio = e.rawLength > 0 ? Double(e.storedLength) / Double(e.rawLength) : 1
                    print("  \(e.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(String(describing: e.codec).padding(toLength: 13, withPad: " ", startingAt: 0)) \(e.storedLength) of \(e.rawLength) bytes (\(String(format: "%.2f", ratio)))")
                }
                if i == 0, let config = section("config") { print("  config: \(jsonString(config))") }
                if let state = section("state") { print("  state: \(jsonString(state))") }
                if let metrics = section("metrics") { print("  metrics: \(jsonString(metrics))") }
            }
            if !damaged.isEmpty { throw ExitCode(1) }
        }
    }
}

struct Paths: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The architecture sampled at every step of the checkpoint's epoch, one a line.")
    @Argument(help: "A checkpoint file.") var file: String
    @Flag(help: "DARTS genotype text instead of the one-line form (single-path methods; GDAS paths cover every edge).") var darts = false
    @Flag(help: "One JSON array of strings.") var json = false

    func run() throws {
        try runReportingErrors("nsas-ckpt paths") {
            let f = try CheckpointFile(file)
            let text = String(decoding: try f.read("paths"), as: UTF8.self)
            let space = try RunSchema.config(f).run.space
            let lines = try text.split(separator: "\n").map { line -> String in
                guard darts else { return String(line) }
                if line.hasPrefix("all-edges ") {
                    throw CheckpointError(file, section: "paths", "holds GDAS paths, which run every edge and have no DARTS genotype form", advice: "leave out --darts")
                }
                // RandomNAS with --paths-per-step lists every path of a step, joined by " + ".
                return try line.components(separatedBy: " + ").map { try Architectures.describe($0, space: space) }.joined(separator: " + ")
            }
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: lines), as: UTF8.self))
            } else {
                lines.forEach { print($0) }
            }
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check every section's checksums of a checkpoint or a run folder, and that its tensors are finite.")
    @Argument(help: "A checkpoint file or a run folder.") var path: String
    @Flag(help: "One JSON object per file.") var json = false

    func run() throws {
        var failed = 0
        try runReportingErrors("nsas-ckpt verify") {
            for file in try RunDirectory.files(path) {
                do {
                    let f = try CheckpointFile(file)
                    try f.verify()
                    // Checksums say the bytes are what was written; a diverged run could still have written NaN.
                    for name in ["weights", "optimizer", "arch", "wpl", "asgd"] where f.has(name) {
                        if let bad = try f.tensors(name).first(where: { !$0.values.allSatisfy(\.isFinite) }) {
                            throw CheckpointError(file, section: name, "tensor '\(bad.name)' holds non-finite values (NaN or infinity)",
                                                  advice: "resume from an earlier checkpoint with a lower --lr")
                        }
                    }
                    print(json ? jsonString(["file": file, "ok": true]) : "ok      \(file)")
                } catch {
                    failed += 1
                    print(json ? jsonString(["file": file, "ok": false, "error": "\(error)"]) : "FAILED  \(error)")
                }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
