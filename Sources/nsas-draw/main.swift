import ArgumentParser
import Foundation
import NSASAnalysis
import NSASCLI
import NSASDraw
import NSASSearchSpace
import NSASTrain
import NSASCheckpoint
import NSASRun

@main
struct NSASDrawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-draw",
        abstract: "Draw cells and plots to PNG or SVG (Cairo; no Graphviz needed).",
        subcommands: [CellCommand.self, PlotCommand.self, VerifyCommand.self])
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that files parse: PNG (decoded with libpng, not blank), SVG, CSV (header and rows), and Markdown (every linked file exists and parses).")
    @Argument(help: "Files.") var files: [String]

    func run() throws {
        try runReportingErrors("nsas-draw verify") {
            var checked = Set<String>()
            for f in files { try ReportVerifier.verify(f, checked: &checked) }
            print("verified \(checked.count) files")
        }
    }
}

/// Output options every picture shares.
struct PictureOptions: ParsableArguments {
    @Option(help: "Output file: PNG, or SVG if it ends in .svg (see --svg).") var out: String
    @Option(help: "Pixel scale (2 for print).") var scale: Double = 1
    @Flag(help: "Write SVG (the same drawing) instead of PNG; the extension of --out becomes .svg.") var svg = false

    func validate() throws {
        guard scale > 0, scale <= 8 else { throw ValidationError("--scale must be in (0, 8]") }
        var isDir: ObjCBool = false
        guard !out.hasSuffix("/"), !(FileManager.default.fileExists(atPath: out, isDirectory: &isDir) && isDir.boolValue) else {
            throw ValidationError("--out \(out) is a folder; give a file name (e.g. \(out.hasSuffix("/") ? out : out + "/")cell.png)")
        }
        guard !(out as NSString).lastPathComponent.hasPrefix(".") || (out as NSString).lastPathComponent.count > 4 else {
            throw ValidationError("--out \(out) has no file name before its extension")
        }
    }

    /// The output path, with `suffix` before the extension (e.g. `-normal`).
    func path(suffix: String = "") -> String {
        let ns = out as NSString
        var base = ns.pathExtension.isEmpty ? out : ns.deletingPathExtension
        base += suffix
        let ext = svg ? "svg" : (ns.pathExtension.isEmpty ? "png" : ns.pathExtension)
        return base + "." + ext
    }
}

struct CellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cell",
        abstract: "Draw the cells of a genotype, one picture per cell type.",
        discussion: """
        The genotype comes from --genotype (DARTS Genotype(...) text, the canonical one-line form, or a name: DARTS_V1,
        DARTS_V2, NSAS), from --from ranking.csv (the best row by its rank column; --top K draws the K best), or from
        --from CHECKPOINT (GDAS: argmax of the logits; RandomNAS/NSAS/WPL: the selected genotype of a finished run).
        A CNN genotype writes OUT-normal.png and OUT-reduce.png, a recurrent one (Genotype(recurrent=...), rnn:...,
        or a name with --recurrent) OUT-recurrent.png, a NAS-Bench-201 cell (|op~0|+|op~0|op~1|+|...|) OUT-cell.png. `none` edges are drawn faint and dashed
        (--hide-none leaves them out).
        """)

    @Option(help: "Genotype text or name.") var genotype: String?
    @Option(help: "A ranking CSV (arch and rank or accuracy columns) or a checkpoint file.") var from: String?
    @Option(help: "With a ranking CSV: draw the K best (files numbered -1, -2, ... when K > 1).") var top = 1
    @Flag(help: "Leave `none` edges out instead of drawing them faint.") var hideNone = false
    @Flag(help: "A name (DARTS_V1, DARTS_V2, NSAS) means the recurrent cell.") var recurrent = false
    @OptionGroup var picture: PictureOptions

    func validate() throws {
        guard (genotype == nil) != (from == nil) else { throw ValidationError("give exactly one of --genotype or --from") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        try runReportingErrors("nsas-draw") {
            var genotypes: [(AnyGenotype, String)] = []
            if let genotype {
                genotypes = [(try AnyGenotype(parsing: genotype, preferRecurrent: recurrent), "")]
            } else if let from {
                if from.lowercased().hasSuffix(".csv") {
                    genotypes = try fromRanking(from).enumerated().map { ($1, top > 1 ? "-\($0 + 1)" : "") }
                } else {
                    let (a, _, how) = try CheckpointGenotype.load(from)
                    print("\(from): \(how)")
                    if let g = a as? Genotype { genotypes = [(.cnn(g), "")] } else if let g = a as? RecurrentGenotype { genotypes = [(.rnn(g), "")] }
                    else if let g = a as? NB201Arch { genotypes = [(.nb201(g), "")] } else {
                        throw ValidationError("nsas-draw cannot draw cells of this space yet: \(a.canonical)")
                    }
                }
            }
            for (g, tag) in genotypes {
                let graphs: [(CellGraph, String)]
                switch g {
                case .cnn(let c):
                    graphs = [(CellGraph.cnn(c, reduce: false, none: hideNone ? .hide : .faint), "-normal"),
                              (CellGraph.cnn(c, reduce: true, none: hideNone ? .hide : .faint), "-reduce")]
                case .rnn(let r):
                    graphs = [(CellGraph.rnn(r, none: hideNone ? .hide : .faint), "-recurrent")]
                case .nb201(let a):
                    graphs = [(CellGraph.nb201(a, none: hideNone ? .hide : .faint), "-cell")]
                }
                for (graph, suffix) in graphs {
                    let layout = try CellLayout(graph)
                    let path = picture.path(suffix: tag + suffix)
                    try layout.write(to: path, scale: picture.scale)
                    let noneNote = g.hasNone ? (hideNone ? "; none edges left out" : "; none edges drawn faint") : ""
                    print("wrote \(path) (\(graph.title)\(noneNote))")
                }
            }
        }
    }

    /// The `top` best rows of a ranking CSV: by its `rank` column when present, else by accuracy
    /// (highest first) or perplexity (lowest first).
    func fromRanking(_ path: String) throws -> [AnyGenotype] {
        let t = try CSVTable.read(path)
        let ai = try t.column("arch", path: path)
        if t.header.contains("epoch") {
            throw DrawError.input("\(path): has an epoch column (a ranking per epoch); rank one checkpoint, or filter one epoch first")
        }
        let key: (Int, Double)
        if let ri = t.header.firstIndex(of: "rank") { key = (ri, 1) }
        else if let pi = t.header.firstIndex(of: "perplexity") { key = (pi, 1) }
        else { key = (try t.column("accuracy", path: path), -1) }
        var rows: [(Double, Int, String)] = []
        for (i, r) in t.rows.enumerated() {
            guard let v = Double(r[key.0].trimmingCharacters(in: .whitespaces)) else {
                throw CSVTable.CSVError.notANumber(path: path, line: i + 2, column: t.header[key.0], value: r[key.0])
            }
            rows.append((key.1 * v, i, r[ai]))
        }
        guard !rows.isEmpty else { throw DrawError.input("\(path): no rows") }
        return try rows.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(top).map { r in
            do { return try AnyGenotype(parsing: r.2) } catch { throw DrawError.input("\(path): line \(r.1 + 2): \(error)") }
        }
    }
}

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Charts from the CSV outputs of nsas-rank, nsas-tau and a run's metrics.",
        subcommands: [TauPlot.self, ForgettingPlot.self, ScatterPlot.self, MetricsPlot.self, CoveragePlot.self, DriftPlot.self])
}

struct TauPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tau",
        abstract: "Kendall tau per epoch, one line per method (paper Figure 3).",
        discussion: "Each SERIES is NAME=FILE, FILE from `nsas-tau --per-epoch --csv ranks.csv truth.csv`.")
    @Argument(help: "NAME=FILE pairs.") var series: [String]
    @Option(help: "Column to plot.") var column = "kendall_tau_b"
    @OptionGroup var picture: PictureOptions

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let inputs = try series.map { s -> (name: String, path: String) in
                guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                    throw DrawError.input("series '\(s)': expected NAME=FILE")
                }
                return (String(s[..<eq]), String(s[s.index(after: eq)...]))
            }
            let path = picture.path()
            try Figure([try Plots.tau(inputs, column: column)]).write(to: path, scale: picture.scale)
            print("wrote \(path)")
        }
    }
}

struct ForgettingPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forgetting",
        abstract: "Inherited-weight accuracy per epoch of fixed architectures, stand-alone accuracy dashed (paper Figure 1).")
    @Option(help: "Rankings with an epoch column (nsas-rank --checkpoint RUN_DIR).") var ranks: String?
    @Option(name: .customLong("run"), help: "A run folder trained with --track (its metrics.jsonl).") var runDir: String?
    @Option(help: "Stand-alone ground truth (truth.csv).") var truth: String?
    @Option(help: "At most this many architectures (the best by stand-alone accuracy when --truth is given).") var maxArchs = 8
    @OptionGroup var picture: PictureOptions

    func validate() throws {
        guard (ranks == nil) != (runDir == nil) else { throw ValidationError("give exactly one of --ranks or --run") }
    }

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let chart = try ranks.map { try Plots.forgetting(ranks: $0, truth: truth, maxArchs: maxArchs) }
                ?? Plots.forgetting(run: runDir!, truth: truth, maxArchs: maxArchs)
            let path = picture.path()
            try Figure([chart]).write(to: path, scale: picture.scale)
            print("wrote \(path)")
        }
    }
}

struct ScatterPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scatter",
        abstract: "Supernet accuracy against stand-alone accuracy, Kendall tau in the title (paper Figure 4a's data).")
    @Option(help: "Supernet ranking (nsas-rank output of one checkpoint).") var supernet: String
    @Option(help: "Stand-alone ground truth (truth.csv).") var truth: String
    @Option(help: "Score column of the supernet file.") var supernetScore = "accuracy"
    @Option(help: "Score column of the truth file.") var truthScore = "accuracy"
    @Option(help: "With a per-epoch supernet file: the epoch to plot (default: the last).") var epoch: String?
    @OptionGroup var picture: PictureOptions

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let path = picture.path()
            try Figure([try Plots.scatter(supernet: supernet, truth: truth, supernetScore: supernetScore, truthScore: truthScore, epoch: epoch)])
                .write(to: path, scale: picture.scale)
            print("wrote \(path)")
        }
    }
}

struct MetricsPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Training loss and accuracy per epoch of a run (its metrics.jsonl).")
    @Option(name: .customLong("run"), help: "The run folder.") var runDir: String
    @OptionGroup var picture: PictureOptions

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let path = picture.path()
            try Plots.metrics(run: runDir).write(to: path, scale: picture.scale)
            print("wrote \(path)")
        }
    }
}

struct CoveragePlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "A heat map per cell type (edges x ops): steps that trained each site, from the recorded paths and NSAS constraints (nsas-ckpt coverage).")
    @Option(name: .customLong("run"), help: "The run folder of a search.") var runDir: String
    @Option(help: "Only this epoch (default: every epoch together).") var epoch: Int?
    @Flag(help: "Current paths only (leave out NSAS's archived constraints).") var currentOnly = false
    @OptionGroup var picture: PictureOptions

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let c = try RunAnalysis.coverage(runDir)
            if let epoch, !c.epochs.contains(epoch) {
                throw ValidationError("--epoch \(epoch): the run has checkpoints of epochs \(c.epochs.map(String.init).joined(separator: ", "))")
            }
            let epochs = epoch.map { [$0] } ?? c.epochs
            let maps = c.cellTypes.enumerated().map { ct, name -> Heatmap in
                let sites = c.allSites.filter { $0.cellType == ct }
                let ops = Array(Set(sites.map(\.op))).sorted(), edges = Array(Set(sites.map(\.edge))).sorted()
                let values = edges.map { e in ops.map { op -> Double in
                    let s = PathSite(cellType: ct, edge: e, op: op)
                    return Double(epochs.reduce(0) { $0 + (c.current[$1]?[s] ?? 0) + (currentOnly ? 0 : c.constraint[$1]?[s] ?? 0) })
                } }
                return Heatmap(title: "\(name) cells, " + (epoch.map { "epoch \($0)" } ?? "epochs \(c.epochs.first!)-\(c.epochs.last!)"),
                               rowTitle: "edge", rows: edges.map(String.init), columns: ops, values: values)
            }
            let path = picture.path()
            try Heatmap.write(maps, to: path, scale: picture.scale)
            print("wrote \(path) (steps that trained each site\(c.hasArchive && !currentOnly ? ", current paths and archived constraints" : ""))")
        }
    }
}

struct DriftPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Per epoch, how far each op type's weights moved (relative L2 change from the previous epoch); with --paths, trained sites solid, untrained dashed (nsas-ckpt drift).")
    @Option(name: .customLong("run"), help: "The run folder.") var runDir: String
    @Flag(help: "Split by whether the epoch's paths (and NSAS constraints) trained the site.") var paths = false
    @OptionGroup var picture: PictureOptions

    func run() throws {
        try runReportingErrors("nsas-draw") {
            let rows = try RunAnalysis.drift(runDir, perEpoch: true, by: .op, paths: paths)
            guard !rows.isEmpty else { throw ValidationError("\(runDir) has one checkpoint; drift needs two epochs") }
            var points: [String: [Point]] = [:]
            for r in rows where r.relativeChange.isFinite {
                points[r.group + (r.split == "untrained" ? " (untrained)" : ""), default: []].append(Point(Double(r.to), r.relativeChange))
            }
            let groups = Array(Set(points.keys.map { $0.replacingOccurrences(of: " (untrained)", with: "") })).sorted()
            let series = points.keys.sorted().map { key -> Series in
                let base = key.replacingOccurrences(of: " (untrained)", with: "")
                return Series(name: key, points: points[key]!, styleIndex: groups.firstIndex(of: base) ?? 0, dashed: key.hasSuffix("(untrained)"),
                              solid: !key.hasSuffix("(untrained)"))
            }
            let chart = Chart(title: "Weight drift per epoch" + (paths ? " (dashed: sites no path of the epoch trained)" : ""),
                              xLabel: "epoch", yLabel: "relative L2 change from the previous epoch", series: series, integerX: true)
            let path = picture.path()
            try Figure([chart]).write(to: path, scale: picture.scale)
            print("wrote \(path)")
        }
    }
}
