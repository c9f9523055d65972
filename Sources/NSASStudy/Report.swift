import Foundation
import NSASAnalysis
import NSASDraw

/// What a study's finished tasks say, computed from their files: per arm the final tau-b with a
/// t interval over seeds, paired differences with sign-flip p-values, the ground truth's own
/// noise, tau against compute, forgetting of tracked architectures, and a verdict. Written as
/// report.md, CSV files and figures; everything but report.md's timing lines is a function of
/// the task outputs, so two runs of the same tasks give the same CSV bytes.
public struct StudyReport {
    public let plan: StudyPlan
    var study: StudyFile { plan.study }

    public init(plan: StudyPlan) { self.plan = plan }

    /// One ranking of one search at one epoch against the ground truth.
    struct TauRow { var arm: Arm; var seed: UInt64; var bn: Int; var epoch: Int; var passes: Double?; var a: RankAgreement
        /// The mean inherited-weight score of the ranked architectures (how trained the supernet is).
        var meanScore: Double }
    struct ForgettingRow { var arm: Arm; var seed: UInt64; var epoch: Int; var change: Double }

    // MARK: reading the tasks

    /// Ground truth: per truth seed, the score of each architecture (nil where not finished).
    func truth() throws -> (scores: [UInt64: [Double?]], name: String, higherIsBetter: Bool) {
        var scores: [UInt64: [Double?]] = [:], name = "accuracy"
        if let path = study.truth.table {
            let t = try TruthTable(path, columns: study.truth.columns, archs: plan.archs)
            for (k, s) in study.truth.seeds.enumerated() { scores[s] = t.scores[k] }
            let lower = study.truth.columns.allSatisfy(ScoreColumn.lowerIsBetter(name:))
            return (scores, study.truth.columns.count == 1 ? study.truth.columns[0] : "accuracy", !lower)
        }
        for s in study.truth.seeds { scores[s] = Array(repeating: nil, count: plan.archs.count) }
        for t in plan.tasks where plan.isDone(t) {
            guard case .truth(let a, let s) = t.kind else { continue }
            let path = plan.path(t.folder + "/train/truth.csv")
            let table = try CSVTable.read(path)
            guard table.header.count > 1, let row = table.rows.first(where: { $0[0] == plan.archs[a] }) else {
                throw StudyError("\(path): has no row for \(plan.archs[a])")
            }
            name = table.header[1]
            guard let v = Double(row[1]), v.isFinite else { throw StudyError("\(path): \(name) '\(row[1])' is not a number") }
            scores[s]![a] = v
        }
        return (scores, name, name != "perplexity")
    }

    /// Per epoch of a search: its path passes (from metrics.jsonl, the last record of each epoch)
    /// and the tracked architectures' held-out losses.
    func epochRecords(_ run: String) -> [Int: (passes: Double?, tracked: [String: Double])] {
        guard let text = try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8) else { return [:] }
        var out: [Int: (passes: Double?, tracked: [String: Double])] = [:]
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["event"] as? String == "epoch", let e = o["epoch"] as? Int else { continue }
            var tracked: [String: Double] = [:]
            for t in o["tracked"] as? [[String: Any]] ?? [] {
                if let a = t["arch"] as? String, let l = (t["loss"] as? NSNumber)?.doubleValue { tracked[a] = l }
            }
            out[e] = ((o["path_passes"] as? NSNumber)?.doubleValue, tracked)
        }
        return out
    }

    // MARK: the report

    public struct Written { public var directory: String; public var done: Int; public var total: Int }

    /// Writes report.md, the CSV files and figures to `directory` (default OUT/report).
    @discardableResult
    public func write(to directory: String? = nil) throws -> Written {
        let dir = directory ?? plan.path("report")
        try mkdir(dir + "/figures")
        let (truthScores, scoreName, higher) = try truth()
        let sign = higher ? 1.0 : -1.0
        let complete = plan.archs.indices.filter { a in study.truth.seeds.allSatisfy { truthScores[$0]![a] != nil } }
        let truthMean: [Int: Double] = Dictionary(uniqueKeysWithValues: complete.map { a in
            (a, Stats.mean(study.truth.seeds.map { truthScores[$0]![a]! }))
        })
        let index = Dictionary(uniqueKeysWithValues: plan.archs.enumerated().map { ($1, $0) })

        // Rankings of every finished search against the mean ground truth.
        var rows: [TauRow] = [], forgetting: [ForgettingRow] = []
        var searchesDone: [String: [UInt64]] = [:]
        for t in plan.tasks where plan.isDone(t) {
            guard case .search(let arm, let seed) = t.kind else { continue }
            searchesDone[arm.name, default: []].append(seed)
            let run = plan.path(t.folder + "/train")
            let records = epochRecords(run)
            var cumulative: [Int: Double] = [:], sum = 0.0, known = true
            for e in records.keys.sorted() {
                if let p = records[e]!.passes, known { sum += p; cumulative[e] = sum } else { known = false }
            }
            let epochs = records.keys.sorted()
            for (e0, e1) in zip(epochs, epochs.dropFirst()) {
                let before = records[e0]!.tracked, after = records[e1]!.tracked
                let common = before.keys.filter { after[$0] != nil }.sorted()
                if !common.isEmpty {
                    forgetting.append(ForgettingRow(arm: arm, seed: seed, epoch: e1, change: Stats.mean(common.map { after[$0]! - before[$0]! })))
                }
            }
            guard complete.count >= 2 else { continue }
            for bn in study.rank.bnRecalibrate {
                let path = plan.path(t.folder + "/ranks-bn\(bn).csv")
                let table = try CSVTable.read(path)
                let ai = try table.column("arch", path: path), ei = try table.column("epoch", path: path)
                let si = try table.column(table.header.contains("accuracy") ? "accuracy" : "perplexity", path: path)
                let sSign = table.header.contains("accuracy") ? 1.0 : -1.0
                var byEpoch: [Int: [Int: Double]] = [:]
                for (l, r) in table.rows.enumerated() {
                    guard let e = Int(r[ei]), let v = Double(r[si]) else { throw StudyError("\(path):\(l + 2): not a ranking row") }
                    guard let a = index[r[ai]] else { continue }
                    byEpoch[e, default: [:]][a] = sSign * v
                }
                for e in byEpoch.keys.sorted() {
                    let scored = complete.filter { byEpoch[e]![$0] != nil }
                    guard scored.count >= 2 else { continue }
                    let ag = RankCorrelation.agreement(scored.map { byEpoch[e]![$0]! }, scored.map { sign * truthMean[$0]! },
                                                       topK: study.rank.topK, bootstrap: 0)
                    rows.append(TauRow(arm: arm, seed: seed, bn: bn, epoch: e, passes: cumulative[e], a: ag,
                                       meanScore: Stats.mean(scored.map { sSign * byEpoch[e]![$0]! })))
                }
            }
        }

        let done = plan.tasks.filter { plan.isDone($0) }.count
        var md: [String] = []
        md.append("# Study \(study.name): does the supernet rank architectures truthfully?")
        md.append("")
        md.append("Generated by `nsas-study report` from the finished tasks of `\(plan.out)` (\(done) of \(plan.tasks.count) tasks done"
                  + (done < plan.tasks.count ? ": **a partial report**" : "") + ").")
        md.append("")
        md.append(settingsText())
        md.append("")
        md.append((study.truth.table.map { "Ground truth: \(complete.count) of \(plan.archs.count) architectures looked up in `\($0)` (columns "
                        + "\(study.truth.columns.joined(separator: ", ")), nothing trained); each architecture's ground truth is its mean over those columns" }
                   ?? ("Ground truth: \(complete.count) of \(plan.archs.count) architectures trained stand-alone with every truth seed "
                       + "(\(study.truth.seeds.map(String.init).joined(separator: ", "))); each architecture's ground truth is its mean held-out "
                       + "\(scoreName) over those seeds"))
                  + (truthMean.isEmpty ? "" : String(format: " (mean %.3f, from %.3f to %.3f)", Stats.mean(Array(truthMean.values)),
                                                     truthMean.values.min()!, truthMean.values.max()!))
                  + ". Supernet rankings score every architecture with inherited weights after every epoch.")
        md.append("")
        let verdictAt = md.count

        // Noise ceiling: agreement between the ground-truth seeds.
        var noise = CSVTable(header: ["seed_a", "seed_b", "n", "kendall_tau_b", "ci95_low", "ci95_high", "spearman_rho"], rows: [])
        let seedsT = study.truth.seeds
        for i in seedsT.indices { for j in seedsT.indices where j > i {
            guard complete.count >= 2 else { continue }
            let ag = RankCorrelation.agreement(complete.map { sign * truthScores[seedsT[i]]![$0]! }, complete.map { sign * truthScores[seedsT[j]]![$0]! },
                                               bootstrap: 1000, seed: 0)
            noise.rows.append([String(seedsT[i]), String(seedsT[j]), String(ag.n), num(ag.kendallTauB), num(ag.ci95[0]), num(ag.ci95[1]), num(ag.spearmanRho)])
        } }

        // Per-epoch rows.
        var tauCSV = CSVTable(header: ["arm", "seed", "bn_recalibrate", "epoch", "n", "path_passes", "kendall_tau_b", "spearman_rho",
                                       "top_k_precision", "top_k", "regret", "mean_inherited_score"], rows: [])
        for r in rows {
            tauCSV.rows.append([r.arm.name, String(r.seed), String(r.bn), String(r.epoch), String(r.a.n), r.passes.map(num) ?? "",
                                num(r.a.kendallTauB), num(r.a.spearmanRho), num(r.a.topKPrecision), String(r.a.topK), num(r.a.regret),
                                num(r.meanScore)])
        }

        // Summary at the final epoch, and paired differences.
        func finals(_ arm: String, _ bn: Int) -> [UInt64: TauRow] {
            Dictionary(rows.filter { $0.arm.name == arm && $0.bn == bn && $0.epoch == study.epochs }.map { ($0.seed, $0) }) { a, _ in a }
        }
        var summary = CSVTable(header: ["arm", "label", "bn_recalibrate", "seeds", "kendall_tau_b", "ci95_low", "ci95_high", "spearman_rho",
                                        "top_k_precision", "regret", "path_passes", "mean_inherited_score"], rows: [])
        var paired = CSVTable(header: ["comparison", "arm", "against", "bn_recalibrate", "seeds", "mean_delta_tau", "ci95_low", "ci95_high",
                                       "sign_flip_p"], rows: [])
        var verdicts: [String] = []
        for bn in study.rank.bnRecalibrate {
            let bnText = bn == 0 ? (hasBN ? "BN statistics as trained" : "Inherited weights") : "BN recalibrated on \(bn) batches"
            md.append("## Final Kendall tau-b (epoch \(study.epochs)), \(bnText)")
            md.append("")
            let paper = study.arms.contains { $0.paperTau != nil }
            md.append("| arm | seeds | tau-b mean [95% t interval] | Spearman | top-k precision | regret | path passes | mean inherited \(scoreName) |"
                      + (paper ? " published tau |" : ""))
            md.append("|---|---|---|---|---|---|---|---|" + (paper ? "---|" : ""))
            for arm in study.arms {
                let f = finals(arm.name, bn).sorted { $0.key < $1.key }.map(\.value)
                let tau = Stats.tInterval(f.map(\.a.kendallTauB))
                let sp = Stats.mean(f.map(\.a.spearmanRho)), tk = Stats.mean(f.map(\.a.topKPrecision)), rg = Stats.mean(f.map(\.a.regret))
                let passes = f.compactMap(\.passes), inherited = Stats.mean(f.map(\.meanScore))
                let pm = passes.count == f.count && !f.isEmpty ? Stats.mean(passes) : .nan
                summary.rows.append([arm.name, arm.label, String(bn), String(f.count), num(tau.mean), tau.low.map(num) ?? "", tau.high.map(num) ?? "",
                                     num(sp), num(tk), num(rg), num(pm), num(inherited)])
                md.append("| \(arm.label) | \(f.count) | \(intervalText(tau)) | \(fmt(sp)) | \(fmt(tk)) | \(fmt(rg)) | \(pm.isFinite ? String(format: "%.0f", pm) : "") | \(fmt(inherited)) |"
                          + (paper ? " \(arm.paperTau.map { fmt($0, digits: 4) } ?? "") |" : ""))
            }
            md.append("")
            // Paired: every arm against the baseline; the focus arm against every other arm.
            var comparisons: [(String, String, String)] = study.arms.filter { $0.name != study.baseline }.map { ("vs baseline", $0.name, study.baseline) }
            if let focus = study.focus {
                comparisons += study.arms.filter { $0.name != focus && $0.name != study.baseline }.map { ("focus vs ablation", focus, $0.name) }
            }
            var deltas: [String: (Stats.Interval, Double)] = [:]
            if !comparisons.isEmpty {
                md.append("Paired differences in final tau-b (same seed: same initial weights, data order and sampled current paths):")
                md.append("")
                md.append("| arm | against | seeds | mean delta tau [95% t interval] | sign-flip p |")
                md.append("|---|---|---|---|---|")
            }
            for (kind, a, b) in comparisons {
                let fa = finals(a, bn), fb = finals(b, bn)
                let seeds = fa.keys.filter { fb[$0] != nil }.sorted()
                let d = seeds.map { fa[$0]!.a.kendallTauB - fb[$0]!.a.kendallTauB }.filter(\.isFinite)
                let iv = Stats.tInterval(d), p = Stats.signFlipP(d)
                deltas["\(a)|\(b)"] = (iv, p)
                paired.rows.append([kind, a, b, String(bn), String(d.count), num(iv.mean), iv.low.map(num) ?? "", iv.high.map(num) ?? "", num(p)])
                md.append("| \(label(a)) | \(label(b)) | \(d.count) | \(intervalText(iv, signed: true)) | \(fmt(p)) |")
            }
            if !comparisons.isEmpty { md.append("") }
            let v = verdict(bn: bn, bnText: bnText, deltas: deltas, noise: noise)
            verdicts.append(v)
        }

        // Tau against compute: per arm and epoch, mean cumulative path passes and mean tau.
        var compute = CSVTable(header: ["arm", "bn_recalibrate", "epoch", "seeds", "path_passes", "kendall_tau_b"], rows: [])
        for bn in study.rank.bnRecalibrate {
            for arm in study.arms {
                for e in 1...study.epochs {
                    let r = rows.filter { $0.arm.name == arm.name && $0.bn == bn && $0.epoch == e }
                    guard !r.isEmpty else { continue }
                    let passes = r.compactMap(\.passes)
                    compute.rows.append([arm.name, String(bn), String(e), String(r.count), passes.count == r.count ? num(Stats.mean(passes)) : "",
                                         num(Stats.mean(r.map(\.a.kendallTauB)))])
                }
            }
        }
        md.append("## Tau per epoch and against compute")
        md.append("")
        for bn in study.rank.bnRecalibrate {
            md.append("Mean tau-b over seeds, \(bn == 0 ? (hasBN ? "BN statistics as trained" : "inherited weights") : "BN recalibrated") (path passes in brackets: "
                      + "a path's forward and backward on one batch counts 1):")
            md.append("")
            md.append("| epoch | " + study.arms.map(\.label).joined(separator: " | ") + " |")
            md.append("|---|" + String(repeating: "---|", count: study.arms.count))
            for e in 1...study.epochs {
                let cells = study.arms.map { arm -> String in
                    guard let row = compute.rows.first(where: { $0[0] == arm.name && $0[1] == String(bn) && $0[2] == String(e) }) else { return "" }
                    return fmt(Double(row[5]) ?? .nan) + (Double(row[4]).map { String(format: " (%.0f)", $0) } ?? "")
                }
                md.append("| \(e) | " + cells.joined(separator: " | ") + " |")
            }
            md.append("")
        }

        // Forgetting (paper Eq. 5): change of the tracked architectures' held-out loss from one epoch to the next.
        var forgettingCSV = CSVTable(header: ["arm", "seed", "epoch", "mean_loss_change"], rows: [])
        for f in forgetting { forgettingCSV.rows.append([f.arm.name, String(f.seed), String(f.epoch), num(f.change)]) }
        if study.track > 0 {
            md.append("## Forgetting of tracked architectures (paper Eq. 5)")
            md.append("")
            md.append("The first \(study.track) ground-truth architectures are scored on the whole held-out split after every epoch. The table gives "
                      + "the change of their held-out loss from the previous epoch, averaged over them and over seeds (positive: the shared weights "
                      + "forgot them while other paths trained), and the mean over epochs with a t interval over seeds.")
            md.append("")
            let es = Array(Set(forgetting.map(\.epoch))).sorted()
            md.append("| arm | " + es.map { "epoch \($0)" }.joined(separator: " | ") + " | mean [95% t interval] |")
            md.append("|---|" + String(repeating: "---|", count: es.count + 1))
            for arm in study.arms {
                let fs = forgetting.filter { $0.arm.name == arm.name }
                guard !fs.isEmpty else { continue }
                let cells = es.map { e in fmt(Stats.mean(fs.filter { $0.epoch == e }.map(\.change)), digits: 4) }
                let perSeed = Dictionary(grouping: fs, by: \.seed).keys.sorted().map { s in Stats.mean(fs.filter { $0.seed == s }.map(\.change)) }
                md.append("| \(arm.label) | " + cells.joined(separator: " | ") + " | \(intervalText(Stats.tInterval(perSeed), signed: true, digits: 4)) |")
            }
            md.append("")
        }

        md.append("## Ground-truth noise ceiling")
        md.append("")
        if noise.rows.isEmpty {
            md.append("Needs two truth seeds and finished ground truth.")
        } else {
            md.append("Kendall tau-b between the stand-alone results of different truth seeds (bootstrap 95% interval over architectures): "
                      + "how well the ground truth agrees with itself. No supernet ranking can be expected to agree with one seed's ground truth "
                      + "much better than this; the mean over seeds used above is less noisy than one seed.")
            md.append("")
            md.append("| seeds | n | tau-b [95% interval] | Spearman |")
            md.append("|---|---|---|---|")
            for r in noise.rows { md.append("| \(r[0]) vs \(r[1]) | \(r[2]) | \(fmt(Double(r[3]) ?? .nan)) [\(fmt(Double(r[4]) ?? .nan)), \(fmt(Double(r[5]) ?? .nan))] | \(fmt(Double(r[6]) ?? .nan)) |") }
        }
        md.append("")

        // Figures.
        var figures: [String] = []
        for bn in study.rank.bnRecalibrate {
            let mode = bn == 0 ? (hasBN ? "BN as trained" : "inherited weights") : "BN recalibrated"
            // Mean tau per arm against column `x` of compute.csv: 2 (epoch) or 4 (cumulative path passes).
            for (x, file, title, xLabel) in [(2, "tau-epoch", "per epoch", "epoch"), (4, "tau-compute", "against compute", "cumulative path passes")] {
                let series = study.arms.enumerated().compactMap { i, arm -> Series? in
                    let pts = compute.rows.filter { $0[0] == arm.name && $0[1] == String(bn) }.compactMap { r -> Point? in
                        guard let v = Double(r[x]), let t = Double(r[5]), t.isFinite else { return nil }
                        return Point(v, t)
                    }
                    return pts.isEmpty ? nil : Series(name: arm.label, points: pts, styleIndex: i)
                }
                guard !series.isEmpty else { continue }
                let name = "figures/\(file)-bn\(bn).png"
                try Figure([Chart(title: "Mean Kendall tau-b \(title) (\(mode))", xLabel: xLabel, yLabel: "Kendall tau-b", series: series,
                                  integerX: x == 2)]).write(to: dir + "/" + name)
                figures.append(name)
            }
        }
        let fseries = study.arms.enumerated().compactMap { i, arm -> Series? in
            let es = Array(Set(forgetting.filter { $0.arm.name == arm.name }.map(\.epoch))).sorted()
            let pts = es.map { e in Point(Double(e), Stats.mean(forgetting.filter { $0.arm.name == arm.name && $0.epoch == e }.map(\.change))) }
            return pts.isEmpty ? nil : Series(name: arm.label, points: pts, styleIndex: i)
        }
        if !fseries.isEmpty {
            let name = "figures/forgetting.png"
            try Figure([Chart(title: "Change of tracked architectures' held-out loss", xLabel: "epoch", yLabel: "mean loss change",
                              series: fseries, integerX: true)]).write(to: dir + "/" + name)
            figures.append(name)
        }

        md.insert(contentsOf: ["## Verdict", ""] + verdicts.flatMap { [$0, ""] }, at: verdictAt)
        if !figures.isEmpty {
            md.append("## Figures")
            md.append("")
            for f in figures { md.append("![\(f)](\(f))") }
            md.append("")
        }
        md.append("## Files")
        md.append("")
        md.append("`tau.csv` (every search, BN mode and epoch), `summary.csv` (final epoch per arm), `paired.csv`, `noise.csv`, `compute.csv`, "
                  + "`forgetting.csv`; the tasks' own folders hold the checkpoints, rankings and logs.")
        let seconds = plan.tasks.compactMap { plan.seconds($0) }.reduce(0, +)
        md.append("")
        md.append(String(format: "Compute spent by the finished tasks: %@ of task time (sum over tasks; wall time is less with several jobs).", formatSeconds(seconds)))

        try writeFile(Data(tauCSV.text.utf8), to: dir + "/tau.csv")
        try writeFile(Data(summary.text.utf8), to: dir + "/summary.csv")
        try writeFile(Data(paired.text.utf8), to: dir + "/paired.csv")
        try writeFile(Data(noise.text.utf8), to: dir + "/noise.csv")
        try writeFile(Data(compute.text.utf8), to: dir + "/compute.csv")
        try writeFile(Data(forgettingCSV.text.utf8), to: dir + "/forgetting.csv")
        try writeFile(Data((md.joined(separator: "\n") + "\n").utf8), to: dir + "/report.md")
        return Written(directory: dir, done: done, total: plan.tasks.count)
    }
}
