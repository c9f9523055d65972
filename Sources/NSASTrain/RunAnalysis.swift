import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace

/// What a run's checkpoints say about where training went (coverage of the supernet's sites by
/// the recorded paths and by the NSAS archive) and how far the shared weights moved (drift).
public enum RunAnalysis {
    // MARK: coverage

    public struct Membership: Sendable {
        public var slot: Int
        public var arch: String
        public var arrivedStep: Int, arrivedEpoch: Int
        public var departedStep: Int?
        /// Mean distance to the k nearest other members when it arrived (paper Eq. 7).
        public var novelty: Double
    }

    public struct Coverage: Sendable {
        public var space: SpaceID
        public var cellTypes: [String]
        /// Per epoch: steps that trained each site as the current path, and as an archived constraint path.
        public var epochs: [Int]
        public var current: [Int: [PathSite: Int]] = [:]
        public var constraint: [Int: [PathSite: Int]] = [:]
        public var members: [Membership] = []
        public var hasArchive = false
        /// Every site of the supernet (edges x ops of each cell type).
        public var allSites: [PathSite]
    }

    /// The run folder's checkpoints in epoch order, each with its state (a damaged one is an error).
    static func checkpoints(_ dir: String) throws -> [(file: CheckpointFile, state: RunSchema.State)] {
        let files = try RunDirectory.files(dir)
        guard !files.isEmpty else { throw CheckpointError(dir, "holds no checkpoints", advice: "give a run folder of nsas-train") }
        return try files.map { let f = try CheckpointFile($0); return (f, try RunSchema.state(f)) }.sorted { $0.state.epoch < $1.state.epoch }
    }

    public static func coverage(_ dir: String) throws -> Coverage {
        let cks = try checkpoints(dir)
        let config = try RunSchema.config(cks[0].file)
        guard config.run.standalone == nil else { throw CheckpointError(dir, "is a stand-alone training: it trains one path, there is no coverage to count") }
        return try coverage(SpaceRegistry.type(config.run.space), cks, config)
    }

    static func coverage<S: SearchSpace>(_ t: S.Type, _ cks: [(file: CheckpointFile, state: RunSchema.State)], _ config: RunSchema.Config) throws -> Coverage {
        let options = try config.run.options(S.self)
        let counts = S.edgeCounts(options)
        let all = counts.enumerated().flatMap { ct, n in (0..<n).flatMap { e in S.primitives.map { PathSite(cellType: ct, edge: e, op: $0) } } }
        var c = Coverage(space: S.id, cellTypes: S.cellTypes, epochs: cks.map(\.state.epoch), allSites: all)
        // The archive, replayed from its change log: members before each step's update.
        var members: [(arch: String, sites: [PathSite], value: Any, slot: Int)] = []
        var memberIndex: [Int: Int] = [:]   // slot -> index into c.members of its current occupant
        var capacity = 0, k = 1
        for (f, state) in cks {
            let lines = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
            let first = state.globalStep - lines.count
            var changes: [(step: Int, index: Int, added: [String: Any])] = []
            if f.has("archive") {
                c.hasArchive = true
                guard let o = try JSONSerialization.jsonObject(with: Data(try f.read("archive"))) as? [String: Any],
                      let cap = o["capacity"] as? Int, let kk = o["k"] as? Int, let ch = o["changes"] as? [[String: Any]] else {
                    throw CheckpointError(f.path, section: "archive", "is not an NSAS archive")
                }
                capacity = cap; k = kk
                changes = try ch.map {
                    guard let s = $0["step"] as? Int, let i = $0["index"] as? Int, let a = $0["added"] as? [String: Any], (0..<cap).contains(i) else {
                        throw CheckpointError(f.path, section: "archive", "holds a change that is not (step, index, added)")
                    }
                    return (s, i, a)
                }.sorted { $0.step < $1.step }
            }
            var cur: [PathSite: Int] = [:], con: [PathSite: Int] = [:]
            var next = 0
            for (i, line) in lines.enumerated() {
                let step = first + i
                // Changes of earlier steps arrive before this step trains.
                while next < changes.count, changes[next].step < step { try apply(changes[next], state.epoch); next += 1 }
                for s in try S.sites(pathLine: line) { cur[s, default: 0] += 1 }
                if capacity > 0, members.count == capacity { for m in members { for s in m.sites { con[s, default: 0] += 1 } } }
            }
            while next < changes.count { try apply(changes[next], state.epoch); next += 1 }
            c.current[state.epoch] = cur
            c.constraint[state.epoch] = con
        }
        return c

        func apply(_ change: (step: Int, index: Int, added: [String: Any]), _ epoch: Int) throws {
            let data = try JSONSerialization.data(withJSONObject: change.added)
            let text: String, sites: [PathSite], value: Any
            if let a = try? JSONDecoder().decode(S.Arch.self, from: data) {
                text = a.canonical; sites = S.sites(a); value = a
            } else if let p = try? JSONDecoder().decode(EdgeOps.self, from: data) {
                guard p.cells.map(\.count) == counts, p.cells.joined().allSatisfy({ S.primitives.indices.contains($0) }) else {
                    throw CheckpointError("archive", "holds a path that does not fit the space")
                }
                sites = p.cells.enumerated().flatMap { t, ops in ops.enumerated().map { PathSite(cellType: t, edge: $0, op: S.primitives[$1]) } }
                text = S.pathText(p, options: options); value = p
            } else {
                throw CheckpointError("archive", "holds a member that is neither an architecture of the space nor a GDAS path")
            }
            func distance(_ a: Any, _ b: Any) -> Double {
                if let x = a as? S.Arch, let y = b as? S.Arch { return x.distance(to: y) }
                if let x = a as? EdgeOps, let y = b as? EdgeOps { return x.distance(to: y) }
                return 1
            }
            let rest = members.filter { $0.slot != change.index }.map { distance(value, $0.value) }.sorted()
            let novelty = rest.isEmpty ? 1 : rest.prefix(max(1, k)).reduce(0, +) / Double(min(max(1, k), rest.count))
            if let old = memberIndex[change.index] { c.members[old].departedStep = change.step }
            memberIndex[change.index] = c.members.count
            c.members.append(Membership(slot: change.index, arch: text, arrivedStep: change.step, arrivedEpoch: epoch, departedStep: nil, novelty: novelty))
            if let j = members.firstIndex(where: { $0.slot == change.index }) { members[j] = (text, sites, value, change.index) }
            else { members.append((text, sites, value, change.index)) }
        }
    }

    // MARK: drift

    public enum Grouping: String, CaseIterable, Sendable { case op, cell, edge, tensor }

    public struct DriftRow: Sendable {
        public var from: Int, to: Int
        public var group: String
        /// "trained" or "untrained" in the epochs between (with paths), or "all".
        public var split: String
        public var tensors: Int, values: Int
        /// ||w_to - w_from|| / ||w_from||, and the cosine of w_to and w_from (over the group's values).
        public var relativeChange: Double, cosine: Double
    }

    /// Drift of the weights (BN running statistics left out unless `buffers`) from epoch `from` to
    /// `to` (0 is not stored: the first checkpoint is the earliest), grouped; with `paths`, each
    /// op tensor is split by whether a recorded path or archived constraint of epochs from+1...to
    /// trained its site. `perEpoch` gives every pair of consecutive epochs instead (the run's
    /// checkpoints and coverage read once).
    public static func drift(_ dir: String, from: Int? = nil, to: Int? = nil, perEpoch: Bool = false, by: Grouping, paths: Bool,
                             buffers: Bool = false) throws -> [DriftRow] {
        let cks = try checkpoints(dir)
        let config = try RunSchema.config(cks[0].file)
        let epochs = cks.map(\.state.epoch)
        let pairs = perEpoch ? Array(zip(epochs, epochs.dropFirst())) : [(from ?? epochs.first!, to ?? epochs.last!)]
        return try drift(SpaceRegistry.type(config.run.space), dir, cks, config, pairs: pairs, by: by, paths: paths, buffers: buffers)
    }

    static func drift<S: SearchSpace>(_ t: S.Type, _ dir: String, _ cks: [(file: CheckpointFile, state: RunSchema.State)], _ config: RunSchema.Config,
                                      pairs: [(Int, Int)], by: Grouping, paths: Bool, buffers: Bool) throws -> [DriftRow] {
        let options = try config.run.options(S.self)
        let epochs = cks.map(\.state.epoch)
        var cov: Coverage? = nil
        if paths {
            guard config.run.standalone == nil else { throw CheckpointError(dir, "is a stand-alone training: --paths needs a search") }
            cov = try coverage(S.self, cks, config)
        }
        // One pair: the weights of epoch e1 and e2 compared, grouped and split.
        func pair(_ e1: Int, _ e2: Int) throws -> [DriftRow] {
            guard let a = cks.first(where: { $0.state.epoch == e1 }), let b = cks.first(where: { $0.state.epoch == e2 }), e1 < e2 else {
                throw CheckpointError(dir, "has checkpoints of epochs \(epochs.map(String.init).joined(separator: ", ")); --from and --to must name two of them, --from before --to")
            }
            var trained: Set<PathSite>? = nil
            if let cov {
                var set = Set<PathSite>()
                for e in epochs where e > e1 && e <= e2 {
                    for (s, n) in cov.current[e] ?? [:] where n > 0 { set.insert(s) }
                    for (s, n) in cov.constraint[e] ?? [:] where n > 0 { set.insert(s) }
                }
                trained = set
            }
            let wa = Dictionary(try a.file.tensors("weights").map { ($0.name, $0.values) }, uniquingKeysWith: { x, _ in x })
            var acc: [String: (t: Int, n: Int, d2: Double, a2: Double, b2: Double, ab: Double)] = [:]
            for tb in try b.file.tensors("weights") {
                guard let va = wa[tb.name], va.count == tb.values.count else { continue }
                if !buffers, tb.name.hasSuffix("running_mean") || tb.name.hasSuffix("running_var") || tb.name.hasSuffix("num_batches_tracked") { continue }
                let site = S.site(ofTensor: tb.name, options: options)
                let group: String
                switch by {
                case .op: group = site?.site.op ?? "(shared)"
                case .cell: group = site.map { "cell \($0.cell) (\(S.cellTypes[$0.site.cellType]))" } ?? "(shared)"
                case .edge: group = site.map { "\(S.cellTypes[$0.site.cellType]) edge \($0.site.edge)" } ?? "(shared)"
                case .tensor: group = tb.name
                }
                let split = trained.map { set in site.map { set.contains($0.site) ? "trained" : "untrained" } ?? "shared" } ?? "all"
                let key = group + "\u{1}" + split
                if acc[key] == nil { acc[key] = (0, 0, 0, 0, 0, 0) }
                var s = acc[key]!
                s.t += 1; s.n += va.count
                for i in va.indices {
                    let x = Double(va[i]), y = Double(tb.values[i])
                    s.d2 += (y - x) * (y - x); s.a2 += x * x; s.b2 += y * y; s.ab += x * y
                }
                acc[key] = s
            }
            return acc.keys.sorted().map { key in
                let s = acc[key]!, parts = key.split(separator: "\u{1}").map(String.init)
                return DriftRow(from: e1, to: e2, group: parts[0], split: parts[1], tensors: s.t, values: s.n,
                                relativeChange: s.a2 > 0 ? (s.d2 / s.a2).squareRoot() : .nan,
                                cosine: s.a2 > 0 && s.b2 > 0 ? s.ab / (s.a2 * s.b2).squareRoot() : .nan)
            }
        }
        return try pairs.flatMap { try pair($0.0, $0.1) }
    }
}
