import NSASTensor

/// The op outputs that several paths of one shared batch compute alike: an edge of cell 0 or 1
/// whose input is a shared prefix tensor (cell 0's two preprocessed inputs, cell 1's first) gives
/// the same output in every path that puts the same op on it. The paths announced beforehand
/// (NSAS's archived ones, `planned`) say which ops some later path will compute again; those are
/// computed once, the paths run from a leaf copy of the output, and `SharedPrefix.backward` sends
/// the leaf's summed gradient through the op once, before the prefix's own. Ops no later path
/// needs run on the path's own tape as usual, so an unshared step holds no more memory than before.
/// As with the prefix, the BN layers of a shared op move their running statistics once a step.
public final class SharedEdges {
    public struct Key: Hashable, Comparable, Sendable {
        public var cell: Int, edge: Int, op: Int
        public static func < (a: Key, b: Key) -> Bool { (a.cell, a.edge, a.op) < (b.cell, b.edge, b.op) }
    }

    /// The announced paths' keys (each sorted), those not yet started.
    var planned: [[Key]]
    /// How many announced paths not yet started compute each key.
    var remaining: [Key: Int] = [:]
    var outputs: [Key: (onTape: Tensor, leaf: Tensor)] = [:]
    /// Ops computed for sharing, and the times a path took one instead of computing it (tests, logs).
    public private(set) var computed = 0, reused = 0

    init(planned: [[Key]]) {
        self.planned = planned.map { $0.sorted() }
        for keys in planned { for k in keys { remaining[k, default: 0] += 1 } }
    }

    /// A path with these keys starts: if it is one of the announced ones, it no longer counts as
    /// a later path.
    public func starting(_ keys: [Key]) {
        let sorted = keys.sorted()
        guard let i = planned.firstIndex(of: sorted) else { return }
        planned.remove(at: i)
        for k in sorted { remaining[k]! -= 1 }
    }

    /// The output of `key`'s op on its shared input: taken from an earlier path, computed for
    /// later ones, or (when no later path needs it) computed on the caller's tape by `compute`.
    func output(_ key: Key, _ compute: () throws -> Tensor) throws -> Tensor {
        if let o = outputs[key] { reused += 1; return o.leaf }
        guard remaining[key, default: 0] > 0 else { return try compute() }
        let out = try compute()
        let leaf = out.detach().requiringGrad(out.requiresGrad)
        outputs[key] = (out, leaf)
        computed += 1
        return leaf
    }

    /// Sends the gradients the shared outputs' leaves collected through their ops, once; frees them.
    func backward() throws {
        // In key order: the same summation order in every process (dictionary order is not).
        let seeds = outputs.keys.sorted().compactMap { k in outputs[k]!.leaf.gradTensor.map { (tensor: outputs[k]!.onTape, gradient: $0) } }
        outputs = [:]
        try Tensor.backward(seeds: seeds)
    }
}
