import ArgumentParser
import Foundation
import NSASCheckpoint
import NSASCLI
import NSASRun
import NSASSearchSpace
import NSASTrain
import NSASAnalysis


@main
struct NSASCkpt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-ckpt",
        abstract: "Inspect nsas checkpoints.",
        subcommands: [Info.self, Paths.self, Verify.self, Export.self, Coverage.self, Drift.self])
}

func jsonString(_ obj: Any) -> String {
    (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
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

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's tensors (weights with BN statistics; GDAS logits) as safetensors or numpy .npz, and print its genotype.",
        discussion: """
        Tensor names are the checkpoint's (docs/checkpoint-format.md). A run folder exports its newest checkpoint.
          nsas-ckpt export runs/nsas --format safetensors --out nsas.safetensors
          nsas-ckpt export runs/v2/epoch-0020.nsasckpt --format npz --out v2.npz --genotype
        """)
    enum Format: String, ExpressibleByArgument, CaseIterable { case safetensors, npz }
    @Argument(help: "A checkpoint file or a run folder.") var path: String
    @Option(help: "safetensors or npz.") var format: Format?
    @Option(help: "Output file.") var out: String?
    @Option(help: "Sections to export, comma-separated (default: weights, and arch where present; also optimizer, wpl, asgd).")
    var sections: String?
    @Flag(help: "Print the run's genotype (GDAS: argmax of the logits; searches: the selected one; stand-alone: its own) as DARTS text.")
    var genotype = false
    @Option(help: "Tensor names and layout of another code base: darts (the original DARTS PyTorch code's NetworkCIFAR and Network state_dict).")
    var torchNames: String?
    @Flag(help: "One JSON object: file, format, tensors, bytes, genotype.") var json = false

    func validate() throws {
        if let torchNames, torchNames != "darts" { throw ValidationError("--torch-names knows darts, not \(torchNames)") }
        if torchNames != nil, sections != nil { throw ValidationError("--torch-names exports the weights only; leave out --sections") }
        guard genotype || out != nil else { throw ValidationError("give --out FILE (with --format), or --genotype") }
        if out != nil, format == nil { throw ValidationError("--out needs --format safetensors or npz") }
        if out == nil, format != nil { throw ValidationError("--format needs --out FILE") }
    }

    func run() throws {
        try runReportingErrors("nsas-ckpt export") {
            var isDir: ObjCBool = false
            let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? try RunDirectory.latest(path) : path
            let f = try CheckpointFile(file)
            var result: [String: Any] = ["file": file]
            if let out, let format {
                let wanted = sections.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
                    ?? ["weights", "arch"].filter { f.has($0) }
                let tensorSections = ["weights", "arch", "optimizer", "wpl", "asgd"]
                var items: [TensorExport.Item] = []
                for name in wanted {
                    guard tensorSections.contains(name) else { throw ValidationError("--sections: \(name) is not a tensor section (\(tensorSections.joined(separator: ", ")))") }
                    guard f.has(name) else { throw CheckpointError(file, section: name, "is not in this checkpoint (it has \(f.sectionNames.joined(separator: ", ")))") }
                    // Names stay unique across sections: weights keep theirs, the others get their section as prefix.
                    items += try f.tensors(name).map { TensorExport.Item(name: name == "weights" ? $0.name : name + "." + $0.name, shape: $0.shape, values: $0.values) }
                }
                let config = try RunSchema.config(f)
                if torchNames != nil {
                    let primitives = try SpaceRegistry.type(config.run.space).primitives
                    guard config.run.space == .dartsCNN else { throw ValidationError("--torch-names darts maps the DARTS CNN space's networks, not \(config.run.space)") }
                    var renamed: [TensorExport.Item] = []
                    let weights = try f.tensors("weights"), all = Set(weights.map(\.name))
                    for t in weights {
                        guard let n = TorchNames.darts(t.name, primitives: primitives, all: all) else {
                            throw CheckpointError(file, section: "weights", "tensor '\(t.name)' has no DARTS counterpart")
                        }
                        renamed.append(.init(name: n, shape: t.shape, values: t.values))
                        if n.hasSuffix(".running_var") {
                            renamed.append(.init(name: String(n.dropLast("running_var".count)) + "num_batches_tracked", shape: [], values: [0], int64: true))
                        }
                    }
                    items = renamed
                }
                let meta = ["format": "nsas", "space": config.run.space.rawValue, "method": config.run.method.rawValue,
                            "epoch": String(try RunSchema.state(f).epoch), "tool": config.tool]
                let bytes = format == .safetensors ? try TensorExport.safetensors(items, metadata: meta) : try TensorExport.npz(items)
                try CheckpointWriter.writeAtomically(bytes, to: out)
                result["out"] = out; result["format"] = format.rawValue; result["tensors"] = items.count; result["bytes"] = bytes.count
                if !json { print("wrote \(out): \(items.count) tensors, \(bytes.count) bytes (\(format.rawValue))") }
            }
            if genotype {
                let (arch, _, how) = try CheckpointGenotype.load(file)
                result["genotype"] = arch.description; result["genotype_source"] = how
                if !json { print(arch.description) }
            }
            if json { print(jsonString(result)) }
        }
    }
}

/// Output forms of the analysis commands.
enum TableForm { case text, csv, json }

func emit(_ table: CSVTable, form: TableForm, title: String) {
    switch form {
    case .csv: print(table.text, terminator: "")
    case .json:
        let rows = table.rows.map { r in Dictionary(uniqueKeysWithValues: zip(table.header, r).map { k, v -> (String, Any) in (k, Double(v).map { $0 as Any } ?? v) }) }
        print(jsonString(rows))
    case .text:
        print(title)
        let widths = table.header.indices.map { i in max(table.header[i].count, table.rows.map { $0[i].count }.max() ?? 0) }
        for r in [table.header] + table.rows {
            print(r.enumerated().map { i, v in v.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}

struct Coverage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How many steps trained each (cell type, edge, op) of the supernet, per epoch and in all, from the recorded paths; for NSAS runs also as archived constraints, and the archive's membership over time.")
    @Argument(help: "A run folder of a search.") var folder: String
    @Option(help: "Only this epoch (default: every epoch, and the total).") var epoch: Int?
    @Flag(help: "The archive's members: slot, arrival and departure step, novelty at arrival.") var archive = false
    @Flag(help: "CSV.") var csv = false
    @Flag(help: "JSON.") var json = false

    func run() throws {
        try runReportingErrors("nsas-ckpt coverage") {
            guard !(csv && json) else { throw ValidationError("give --csv or --json, not both") }
            let c = try RunAnalysis.coverage(folder)
            let form: TableForm = csv ? .csv : json ? .json : .text
            if archive {
                guard c.hasArchive else { throw CheckpointError(folder, "has no NSAS archive (an NSAS or GDAS-NSAS run has)") }
                var t = CSVTable(header: ["slot", "arrived_step", "arrived_epoch", "departed_step", "novelty", "arch"], rows: [])
                for m in c.members {
                    t.rows.append([String(m.slot), String(m.arrivedStep), String(m.arrivedEpoch), m.departedStep.map(String.init) ?? "",
                                   String(format: "%.4f", m.novelty), m.arch])
                }
                emit(t, form: form, title: "\(folder): \(c.members.count) archive arrivals")
                return
            }
            if let epoch, !c.epochs.contains(epoch) {
                throw ValidationError("--epoch \(epoch): the run has checkpoints of epochs \(c.epochs.map(String.init).joined(separator: ", "))")
            }
            let epochs = epoch.map { [$0] } ?? c.epochs
            var t = CSVTable(header: ["epoch", "cell_type", "edge", "op", "current_steps", "constraint_steps"], rows: [])
            for e in epochs {
                for s in c.allSites {
                    t.rows.append([String(e), c.cellTypes[s.cellType], String(s.edge), s.op, String(c.current[e]?[s] ?? 0), String(c.constraint[e]?[s] ?? 0)])
                }
            }
            if epoch == nil {
                for s in c.allSites {
                    let cur = c.epochs.reduce(0) { $0 + (c.current[$1]?[s] ?? 0) }, con = c.epochs.reduce(0) { $0 + (c.constraint[$1]?[s] ?? 0) }
                    t.rows.append(["all", c.cellTypes[s.cellType], String(s.edge), s.op, String(cur), String(con)])
                }
            }
            if form == .text {
                // A compact view: per cell type, edges x ops of the steps in all (current + constraint).
                let which = epoch.map(String.init) ?? "all"
                for (ct, name) in c.cellTypes.enumerated() {
                    let ops = Array(Set(c.allSites.filter { $0.cellType == ct }.map(\.op))).sorted()
                    let edges = Array(Set(c.allSites.filter { $0.cellType == ct }.map(\.edge))).sorted()
                    var m = CSVTable(header: ["edge"] + ops, rows: [])
                    for e in edges {
                        m.rows.append([String(e)] + ops.map { op in
                            let r = t.rows.first { $0[0] == which && $0[1] == name && $0[2] == String(e) && $0[3] == op }!
                            return String((Int(r[4]) ?? 0) + (Int(r[5]) ?? 0))
                        })
                    }
                    emit(m, form: .text, title: "\(name) cells, epoch \(which): steps that trained each edge's op (current paths\(c.hasArchive ? " + archived constraints" : ""))")
                    print("")
                }
                return
            }
            emit(t, form: form, title: "")
        }
    }
}

struct Drift: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How far the shared weights moved between two epochs (relative L2 change, cosine), by op, cell, edge or tensor; with --paths, split between sites the epochs trained and sites they did not.")
    @Argument(help: "A run folder.") var folder: String
    @Option(help: "Earlier epoch (default: the first checkpoint).") var from: Int?
    @Option(help: "Later epoch (default: the newest).") var to: Int?
    @Option(help: "op, cell, edge or tensor.") var by: String = "op"
    @Flag(help: "Split each group by whether the recorded paths (and NSAS constraints) of the epochs between trained its site.") var paths = false
    @Flag(help: "Every pair of consecutive epochs instead of --from/--to.") var perEpoch = false
    @Flag(help: "Include BN running statistics.") var buffers = false
    @Flag(help: "CSV.") var csv = false
    @Flag(help: "JSON.") var json = false

    func run() throws {
        try runReportingErrors("nsas-ckpt drift") {
            guard !(csv && json) else { throw ValidationError("give --csv or --json, not both") }
            guard let grouping = RunAnalysis.Grouping(rawValue: by) else { throw ValidationError("--by must be op, cell, edge or tensor, not \(by)") }
            guard !(perEpoch && (from != nil || to != nil)) else { throw ValidationError("--per-epoch covers every pair; leave out --from and --to") }
            let rows = try RunAnalysis.drift(folder, from: from, to: to, perEpoch: perEpoch, by: grouping, paths: paths, buffers: buffers)
            var t = CSVTable(header: ["from", "to", by, "split", "tensors", "values", "relative_change", "cosine"], rows: [])
            for r in rows {
                t.rows.append([String(r.from), String(r.to), r.group, r.split, String(r.tensors), String(r.values),
                               String(format: "%.6f", r.relativeChange), String(format: "%.6f", r.cosine)])
            }
            emit(t, form: csv ? .csv : json ? .json : .text, title: "\(folder): weight drift by \(by)" + (paths ? " (trained: a recorded path or constraint of the epochs between trained the site)" : ""))
        }
    }
}
