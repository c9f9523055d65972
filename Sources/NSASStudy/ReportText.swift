import Foundation
import NSASAnalysis

/// The report's words: the settings paragraph, the verdict generated from the intervals, and the
/// number formats of the tables and CSV files.
extension StudyReport {
    /// The RNN space has no batch norm: its rankings are plain inherited weights.
    var hasBN: Bool { !["rnn", "darts-rnn"].contains(study.space) }

    func label(_ arm: String) -> String { study.arms.first { $0.name == arm }?.label ?? arm }

    func settingsText() -> String {
        let arms = study.arms.map { "\($0.label) (`\($0.method)\($0.args.isEmpty ? "" : " " + $0.args.joined(separator: " "))`)" }.joined(separator: "; ")
        return "Space `\(study.space)`, data `\(study.data)`; \(study.epochs) epochs per search with seeds \(study.seeds.map(String.init).joined(separator: ", "))"
            + (study.trainArgs.isEmpty ? "" : "; every training with `\(study.trainArgs.joined(separator: " "))`")
            + (study.searchArgs.isEmpty ? "" : "; searches with `\(study.searchArgs.joined(separator: " "))`")
            + ". Arms: \(arms). Ground truth: \(plan.archs.count) architectures, \(study.truth.epochs) epoch(s) of stand-alone training"
            + (study.truth.args.isEmpty ? "" : " with `\(study.truth.args.joined(separator: " "))`") + "."
    }

    /// The verdict sentence(s) for one BN mode, generated from the intervals whatever they say.
    func verdict(bn: Int, bnText: String, deltas: [String: (Stats.Interval, Double)], noise: CSVTable) -> String {
        guard let focus = study.focus, let (d, p) = deltas["\(focus)|\(study.baseline)"], d.n > 0 else {
            return "\(bnText): no paired result yet."
        }
        var s = "**\(bnText):** \(label(focus)) changes the final tau-b by \(intervalText(d, signed: true)) over \(label(study.baseline)) "
            + "(\(d.n) seed\(d.n == 1 ? "" : "s"), sign-flip p = \(fmt(p)))."
        if let lo = d.low, let hi = d.high {
            let floor = pow(2, 1 - Double(d.n))
            if lo > 0 || hi < 0 {
                let side = lo > 0 ? "above" : "below", word = lo > 0 ? "more" : "less"
                if p < 0.05 { s += " The interval lies \(side) zero and p < 0.05: on this budget \(label(focus)) ranks \(word) truthfully." }
                else { s += " The t interval lies \(side) zero, but with \(d.n) seeds the exact sign-flip test cannot go below p = \(fmt(floor)): more seeds are needed before calling it." }
            } else {
                s += " The interval includes zero: this study cannot tell them apart."
            }
        }
        if let cm = study.computeMatched, cm != focus, let (c, _) = deltas["\(cm)|\(study.baseline)"], c.n > 0 {
            s += " Compute-matched \(label(cm)) changes it by \(intervalText(c, signed: true))"
            if d.mean > 1e-12, c.mean > 0 {
                s += String(format: ": extra compute alone gives %.0f%% of %@'s gain.", 100 * min(c.mean / d.mean, 9.99), label(focus))
            } else {
                s += "."
            }
        }
        for arm in study.arms where arm.name != focus && arm.name != study.baseline && arm.name != study.computeMatched {
            if let (a, _) = deltas["\(focus)|\(arm.name)"], a.n > 0 {
                s += " Against \(label(arm.name)): \(intervalText(a, signed: true))."
            }
        }
        if let r = noise.rows.first, let t = Double(r[3]) {
            let lo = Double(r[4]), hi = Double(r[5])
            s += " The ground-truth seeds agree with each other at tau-b \(fmt(t))" + (lo != nil && hi != nil ? " [\(fmt(lo!)), \(fmt(hi!))]" : "") + "."
            if t < 0.3 || (lo ?? -1) <= 0 {
                s += " That is the ceiling: with the stand-alone ranking itself this close to noise, no supernet tau measured against it "
                    + "can mean much here; train the ground truth longer (more `[truth] epochs`) before reading the differences above."
            }
        }
        return s
    }
}

/// A number for a CSV cell: fixed precision so equal inputs give equal bytes; empty if not finite.
func num(_ v: Double) -> String { v.isFinite ? String(format: "%.6f", v) : "" }
func fmt(_ v: Double, digits: Int = 3) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "n/a" }
func intervalText(_ i: Stats.Interval, signed: Bool = false, digits: Int = 3) -> String {
    guard i.n > 0, i.mean.isFinite else { return "n/a" }
    let f = signed ? "%+.\(digits)f" : "%.\(digits)f"
    guard let lo = i.low, let hi = i.high, lo.isFinite, hi.isFinite else { return String(format: f, i.mean) + " (one seed: no interval)" }
    return String(format: "\(f) [\(f), \(f)]", i.mean, lo, hi)
}
