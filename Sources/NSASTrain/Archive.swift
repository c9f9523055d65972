import NSASSearchSpace
import NSASTensor

/// An architecture the NSAS archive can hold: anything with the edge-match distance.
public protocol Archivable: Codable, Equatable, Sendable {
    func distance(to other: Self) -> Double
}

extension Genotype: Archivable {
    public func distance(to other: Genotype) -> Double { Novelty.distance(self, other) }
}

/// A GDAS path: the op (index in DARTS order) of every edge of the normal and reduce cells.
/// Its distance is 1 - matching edges / all edges (an edge matches with the same op).
public struct GDASArchitecture: Archivable, Hashable {
    public var normal: [Int], reduce: [Int]
    public init(normal: [Int], reduce: [Int]) { self.normal = normal; self.reduce = reduce }
    public func distance(to other: GDASArchitecture) -> Double {
        let same = zip(normal, other.normal).filter { $0 == $1 }.count + zip(reduce, other.reduce).filter { $0 == $1 }.count
        return 1 - Double(same) / Double(normal.count + reduce.count)
    }
}

/// Architecture distance and novelty (NSAS paper, Section 3; SPEC.md section 4).
public enum Novelty {
    /// 1 - matches / edges over the normal and reduce cells together. An edge of `a` matches when
    /// `b` has an edge into the same node from the same input with the same op.
    public static func distance(_ a: Genotype, _ b: Genotype) -> Double {
        func matches(_ x: [Edge], _ y: [Edge]) -> Int {
            var n = 0
            for (k, e) in x.enumerated() {
                let node = k / 2
                if y[(2 * node)..<(2 * node + 2)].contains(e) { n += 1 }
            }
            return n
        }
        let edges = a.normal.count + a.reduce.count
        return 1 - Double(matches(a.normal, b.normal) + matches(a.reduce, b.reduce)) / Double(edges)
    }

    /// N(a, M) (Eq. 7): the mean distance from `a` to its k nearest members of `set` (k = min(k, |set|)).
    public static func novelty<A: Archivable>(_ a: A, among set: [A], k: Int) -> Double {
        guard !set.isEmpty else { return 0 }
        let d = set.map { a.distance(to: $0) }.sorted()
        let kk = min(max(k, 1), d.count)
        return d.prefix(kk).reduce(0, +) / Double(kk)
    }
}

/// The NSAS constraint archive: M architectures kept diverse by greedy novelty search
/// (Algorithm 1), fed from a FIFO of the most recently sampled architectures.
public struct ConstraintArchive<A: Archivable>: Codable, Equatable, Sendable {
    public var capacity: Int
    public var recentCapacity: Int
    public var k: Int
    public var draws: Int
    public private(set) var members: [A] = []
    public private(set) var recent: [A] = []
    /// Replacements made: (step, index replaced, the new member).
    public private(set) var changes: [Change] = []

    public struct Change: Codable, Equatable, Sendable {
        public var step: Int; public var index: Int; public var added: A
        public init(step: Int, index: Int, added: A) { self.step = step; self.index = index; self.added = added }
    }

    public init(capacity: Int, recentCapacity: Int, k: Int, draws: Int) {
        self.capacity = capacity; self.recentCapacity = recentCapacity; self.k = k; self.draws = draws
    }

    public var isFull: Bool { members.count >= capacity }

    /// After training on `current` at `step`: fill the archive with the first M architectures;
    /// once full, replace the member most similar to `current` by the most novel of `draws`
    /// random picks from the recent list, when it is strictly more novel than that member
    /// (novelty w.r.t. the rest of the archive). Then `current` joins the recent list.
    public mutating func update(current: A, step: Int, rng: inout RNG) {
        if members.count < capacity {
            members.append(current)
            changes.append(Change(step: step, index: members.count - 1, added: current))
        } else if !recent.isEmpty {
            let j = members.indices.min { current.distance(to: members[$0]) < current.distance(to: members[$1]) }!
            var rest = members
            rest.remove(at: j)
            var best = members[j], bestNovelty = Novelty.novelty(members[j], among: rest, k: k)
            for _ in 0..<draws {
                let c = recent[rng.int(below: recent.count)]
                let n = Novelty.novelty(c, among: rest, k: k)
                if n > bestNovelty { best = c; bestNovelty = n }
            }
            if best != members[j] {
                members[j] = best
                changes.append(Change(step: step, index: j, added: best))
            }
        }
        recent.append(current)
        if recent.count > recentCapacity { recent.removeFirst(recent.count - recentCapacity) }
    }

    /// Forgets the change log (after it has been written to a checkpoint).
    public mutating func clearChanges() { changes = [] }
}
