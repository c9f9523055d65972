import Foundation
import NSASAnalysis

/// Charts made from the files the other tools write: per-epoch tau CSV (`nsas-tau --per-epoch
/// --csv`), rankings with an epoch column (`nsas-rank --checkpoint DIR`), ground truth
/// (`truth.csv`) and a run's `metrics.jsonl`.
public enum Plots {
    static func number(_ table: CSVTable, _ row: [String], _ col: Int, path: String, line: Int, name: String) throws -> Double {
        guard let v = Double(row[col].trimmingCharacters(in: .whitespaces)) else {
            throw CSVTable.CSVError.notANumber(path: path, line: line, column: name, value: row[col])
        }
        return v
    }

    /// Kendall tau (or another column of the per-epoch table) per epoch, one line per method
    /// (paper Figure 3).
    public static func tau(_ inputs: [(name: String, path: String)], column: String = "kendall_tau_b") throws -> Chart {
        guard !inputs.isEmpty else { throw DrawError.input("no per-epoch tau files given") }
        var series: [Series] = []
        for (i, input) in inputs.enumerated() {
            let t = try CSVTable.read(input.path)
            let ei = try t.column("epoch", path: input.path), ti = try t.column(column, path: input.path)
            let pts = try t.rows.enumerated().map { l, r in
                Point(try number(t, r, ei, path: input.path, line: l + 2, name: "epoch"), try number(t, r, ti, path: input.path, line: l + 2, name: column))
            }.sorted { $0.x < $1.x }
            series.append(Series(name: input.name, points: pts, styleIndex: i))
        }
        let all = series.flatMap(\.points).map(\.y)
        let lo = min(0, (all.min() ?? 0) - 0.05), hi = max(0.5, (all.max() ?? 1) + 0.05)
        let title = column == "kendall_tau_b" ? "Kendall tau per epoch (supernet vs stand-alone)" : "\(column) per epoch"
        return Chart(title: title, xLabel: "epoch", yLabel: column == "kendall_tau_b" ? "Kendall tau-b" : column, series: series,
                     yRange: max(-1, lo)...min(1, hi), integerX: true)
    }

    /// Inherited-weight accuracy per epoch of each architecture, with its stand-alone accuracy as
    /// a dashed line of the same style (paper Figure 1). At most `maxArchs` architectures (the
    /// best by stand-alone accuracy when a truth file is given).
    public static func forgetting(ranks path: String, truth: String? = nil, score: String = "accuracy", maxArchs: Int = 8) throws -> Chart {
        let t = try CSVTable.read(path)
        let ai = try t.column("arch", path: path), ei = try t.column("epoch", path: path), si = try t.column(score, path: path)
        var curves: [String: [Point]] = [:]
        var order: [String] = []
        for (l, r) in t.rows.enumerated() {
            let p = Point(try number(t, r, ei, path: path, line: l + 2, name: "epoch"), try number(t, r, si, path: path, line: l + 2, name: score))
            if curves[r[ai]] == nil { order.append(r[ai]) }
            curves[r[ai], default: []].append(p)
        }
        return try forgettingChart(curves: curves, order: order, truth: truth, score: score, maxArchs: maxArchs, source: path)
    }

    /// The same from the `--track` scores in a run's metrics.jsonl.
    public static func forgetting(run dir: String, truth: String? = nil, maxArchs: Int = 8) throws -> Chart {
        var curves: [String: [Point]] = [:]
        var order: [String] = []
        for e in try epochRecords(dir) {
            guard let epoch = e["epoch"] as? Double ?? (e["epoch"] as? Int).map(Double.init), let tracked = e["tracked"] as? [[String: Any]] else { continue }
            for t in tracked {
                guard let arch = t["arch"] as? String, let acc = t["accuracy"] as? Double else { continue }
                if curves[arch] == nil { order.append(arch) }
                curves[arch, default: []].append(Point(epoch, acc))
            }
        }
        guard !curves.isEmpty else {
            throw DrawError.input("\(dir)/metrics.jsonl: no tracked architectures (train with --track FILE, or plot nsas-rank output with --ranks)")
        }
        return try forgettingChart(curves: curves, order: order, truth: truth, score: "accuracy", maxArchs: maxArchs, source: dir)
    }

    static func forgettingChart(curves: [String: [Point]], order: [String], truth: String?, score: String, maxArchs: Int, source: String) throws -> Chart {
        var truthAcc: [String: Double] = [:]
        if let truth {
            let t = try CSVTable.read(truth)
            let ai = try t.column("arch", path: truth), si = try t.column("accuracy", path: truth)
            for (l, r) in t.rows.enumerated() { truthAcc[r[ai]] = try number(t, r, si, path: truth, line: l + 2, name: "accuracy") }
        }
        var archs = order
        if !truthAcc.isEmpty {
            let known = archs.filter { truthAcc[$0] != nil }
            guard !known.isEmpty else { throw DrawError.input("no architecture of \(source) is in \(truth!)") }
            archs = known.sorted { truthAcc[$0]! > truthAcc[$1]! }
        }
        archs = Array(archs.prefix(maxArchs))
        let xs = archs.flatMap { curves[$0]!.map(\.x) }
        var series: [Series] = []
        for (i, a) in archs.enumerated() {
            var name = "arch \(i + 1)"
            if let s = truthAcc[a] { name += String(format: " (stand-alone %.3f)", s) }
            series.append(Series(name: name, points: curves[a]!.sorted { $0.x < $1.x }, styleIndex: i, solid: !truthAcc.isEmpty))
            if let s = truthAcc[a], let lo = xs.min(), let hi = xs.max() {
                series.append(Series(name: name + " stand-alone", points: [Point(lo, s), Point(hi, s)], styleIndex: i, dashed: true, hideInLegend: true))
            }
        }
        return Chart(title: "Inherited-weight \(score) per epoch" + (truthAcc.isEmpty ? "" : " (dashed: stand-alone)"),
                     xLabel: "epoch", yLabel: "\(score) with inherited weights", series: series, integerX: true)
    }

    /// Supernet (inherited-weight) accuracy against stand-alone accuracy, with Kendall tau in the
    /// title (paper Figure 4a's data).
    /// A supernet file with an `epoch` column is cut to `epoch` (default: its last epoch).
    public static func scatter(supernet: String, truth: String, supernetScore: String = "accuracy", truthScore: String = "accuracy",
                               epoch: String? = nil, name: String = "architectures") throws -> Chart {
        let a = ScoreColumn(table: try CSVTable.read(supernet), path: supernet, score: supernetScore)
        let b = ScoreColumn(table: try CSVTable.read(truth), path: truth, score: truthScore)
        var keep: ([String]) -> Bool = { _ in true }
        var which = ""
        if let ei = a.table.header.firstIndex(of: "epoch") {
            let epochs = Set(a.table.rows.map { $0[ei] })
            guard let e = epoch ?? epochs.max(by: { (Double($0) ?? 0) < (Double($1) ?? 0) }), epochs.contains(e) else {
                throw DrawError.input("\(supernet): no rows of epoch \(epoch ?? "?") (epochs: \(epochs.sorted().joined(separator: ", ")))")
            }
            keep = { $0[ei] == e }
            which = ", epoch \(e)"
        } else if let epoch {
            throw DrawError.input("\(supernet): no epoch column to pick epoch \(epoch) from")
        }
        let pairs = try TauReport.pairs(a, b, keepA: keep)
        guard pairs.count >= 2 else { throw TauError.tooFew(common: pairs.count, detail: " between \(supernet) and \(truth)") }
        let tau = RankCorrelation.kendallTauB(pairs.map(\.a), pairs.map(\.b)).tau
        return Chart(title: String(format: "Supernet vs stand-alone (n = %d, Kendall tau = %.3f%@)", pairs.count, tau, which),
                     xLabel: "stand-alone \(truthScore)", yLabel: "supernet \(supernetScore) (inherited weights)",
                     series: [Series(name: name, points: pairs.map { Point($0.b, $0.a) }, style: .scatter, styleIndex: 2)])
    }

    /// The `epoch` records of a run's metrics.jsonl; a resumed run's repeated epochs keep the last.
    public static func epochRecords(_ dir: String) throws -> [[String: Any]] {
        let path = (dir as NSString).appendingPathComponent("metrics.jsonl")
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw DrawError.input("\(path): cannot read (is \(dir) a run folder of nsas-train?)")
        }
        var byEpoch: [Int: [String: Any]] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw DrawError.input("\(path):\(n + 1): not a JSON object")
            }
            if obj["event"] as? String == "epoch", let e = obj["epoch"] as? Int { byEpoch[e] = obj }
        }
        guard !byEpoch.isEmpty else { throw DrawError.input("\(path): no epoch records yet") }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    /// Training loss and accuracy per epoch of a run, side by side.
    public static func metrics(run dir: String) throws -> Figure {
        let recs = try epochRecords(dir)
        func pts(_ key: String) -> [Point] {
            recs.compactMap { r in
                guard let e = r["epoch"] as? Int, let v = r[key] as? Double else { return nil }
                return Point(Double(e), v)
            }
        }
        let name = (dir as NSString).lastPathComponent
        // An RNN run records perplexity where a CNN run records accuracy.
        let rnn = !pts("train_perplexity").isEmpty
        let (key, heldKey, heldName, label) = rnn ? ("train_perplexity", "valid_perplexity", "validation", "perplexity")
                                                  : ("train_accuracy", "heldout_accuracy", "held-out", "accuracy")
        var second = [Series(name: "train", points: pts(key), styleIndex: 0)]
        let held = pts(heldKey)
        if !held.isEmpty { second.append(Series(name: heldName, points: held, styleIndex: 1)) }
        return Figure([
            Chart(title: "\(name): training loss", xLabel: "epoch", yLabel: rnn ? "cross-entropy (nats/word)" : "cross-entropy",
                  series: [Series(name: "train", points: pts("train_loss"), styleIndex: 0)], integerX: true),
            Chart(title: "\(name): \(label)", xLabel: "epoch", yLabel: label, series: second, integerX: true),
        ])
    }
}
