import NSASRun
import NSASSearchSpace
import NSASTensor

/// Novelty (NSAS paper, Section 3).
public enum Novelty {
    /// N(a, M) (Eq. 7): the mean distance from `a` to its k nearest members of `set` (k = min(k, |set|)).
    public static func novelty<A: Archivable>(_ a: A, among set: [A], k: Int) -> Double {
        guard !set.isEmpty else { return 0 }
        let d = set.map { a.distance(to: $0) }.sorted()
        let kk = min(max(k, 1), d.count)
        return d.prefix(kk).reduce(0, +) / Double(kk)
    }
}

/// The NSAS constraint archive: M architectures, fed from a FIFO of the most recently sampled
/// ones, replaced by `policy` once full: greedy novelty search (Algorithm 1), random, or FIFO.
public struct ConstraintArchive<A: Archivable>: Codable, Equatable, Sendable {
    public var capacity: Int
    public var recentCapacity: Int
    public var k: Int
    public var draws: Int
    public var policy: ArchivePolicy
    public private(set) var members: [A] = []
    public private(set) var recent: [A] = []
    /// Replacements made since the last `clearChanges`: (step, index replaced, the new member).
    public private(set) var changes: [Change] = []
    /// FIFO: the slot the next architecture replaces (the oldest).
    var next = 0

    public struct Change: Codable, Equatable, Sendable {
        public var step: Int; public var index: Int; public var added: A
        public init(step: Int, index: Int, added: A) { self.step = step; self.index = index; self.added = added }
    }

    public init(capacity: Int, recentCapacity: Int, k: Int, draws: Int, policy: ArchivePolicy = .novelty) {
        self.capacity = capacity; self.recentCapacity = recentCapacity; self.k = k; self.draws = draws; self.policy = policy
    }

    public var isFull: Bool { members.count >= capacity }
    /// The FIFO slot points into the archive (a decoded archive is checked with this).
    public var isConsistent: Bool { capacity > 0 && recentCapacity > 0 && k > 0 && draws >= 0 && (0...max(0, capacity - 1)).contains(next) }

    mutating func replace(_ j: Int, _ a: A, step: Int) {
        guard a != members[j] else { return }
        members[j] = a
        changes.append(Change(step: step, index: j, added: a))
    }

    /// After training on `current` at `step`: fill the archive with the first M architectures;
    /// once full, by policy:
    /// - novelty: replace the member most similar to `current` by the most novel of `draws` random
    ///   picks from the recent list, when it is strictly more novel than that member (novelty
    ///   w.r.t. the rest of the archive);
    /// - random: replace a uniformly chosen member by a uniformly chosen recent architecture;
    /// - fifo: `current` replaces the oldest member.
    /// Then `current` joins the recent list.
    public mutating func update(current: A, step: Int, rng: inout RNG) {
        if members.count < capacity {
            members.append(current)
            changes.append(Change(step: step, index: members.count - 1, added: current))
        } else {
            switch policy {
            case .novelty where !recent.isEmpty:
                let j = members.indices.min { current.distance(to: members[$0]) < current.distance(to: members[$1]) }!
                var rest = members
                rest.remove(at: j)
                var best = members[j], bestNovelty = Novelty.novelty(members[j], among: rest, k: k)
                for _ in 0..<draws {
                    let c = recent[rng.int(below: recent.count)]
                    let n = Novelty.novelty(c, among: rest, k: k)
                    if n > bestNovelty { best = c; bestNovelty = n }
                }
                replace(j, best, step: step)
            case .random where !recent.isEmpty:
                let j = rng.int(below: members.count)
                replace(j, recent[rng.int(below: recent.count)], step: step)
            case .fifo:
                replace(next, current, step: step)
                next = (next + 1) % capacity
            default:
                break
            }
        }
        recent.append(current)
        if recent.count > recentCapacity { recent.removeFirst(recent.count - recentCapacity) }
    }

    /// Forgets the change log (after it has been written to a checkpoint).
    public mutating func clearChanges() { changes = [] }
}
