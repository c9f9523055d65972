import Foundation
import NSASBackends

/// Errors a caller can cause: wrong shapes, wrong arguments. One line, naming the op.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shape(op: String, message: String)
    case argument(op: String, message: String)
    case notScalar(shape: [Int])

    public var description: String {
        switch self {
        case .shape(let op, let m): return "\(op): shape error: \(m)"
        case .argument(let op, let m): return "\(op): \(m)"
        case .notScalar(let s): return "backward(): the loss must have one element, got shape \(s)"
        }
    }
}

/// Contiguous float32 storage, owned by one tensor. Buffers come from a cache of freed ones of
/// the same size: a training step allocates the same shapes every time, and fresh pages from the
/// system cost a page fault and a clearing each.
public final class Storage {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>
    init(count: Int, zeroed: Bool = true) {
        self.count = count
        ptr = BufferCache.shared.take(count)
        if zeroed { Storage.clear(ptr, count: count) }
    }

    /// Zeroes a buffer, on every core when it is large (gradient buffers start zeroed, and a
    /// training step clears a few hundred megabytes of them).
    static func clear(_ p: UnsafeMutablePointer<Float>, count: Int) {
        if count < 1 << 16 { p.update(repeating: 0, count: count); return }
        Parallel.forRanges(count, costPerItem: 1) { r in (p + r.lowerBound).update(repeating: 0, count: r.count) }
    }
    deinit { BufferCache.shared.give(ptr, count: count) }
}

/// Freed buffers by element count, up to `limitBytes` in all (a 256-image batch of the C=16
/// supernet has activations of 67 MB each); the rest go back to the system. The cache never makes
/// the process hold much more than its largest working set so far: a new allocation first returns
/// cached buffers of the least recently requested sizes while live plus cached bytes would exceed
/// 1.25 times the peak of live bytes. (Without that, a 256-image evaluation after training
/// batches of 64 found the cache full of the training's sizes and added its own working set on
/// top: peak RSS 1566 MB in `nsas-bench supernet`, 1456 MB with it. A bound of 1 times the peak
/// gave 1400 MB but 35% more page faults and slower steps, since the sizes vary with the path.)
final class BufferCache: @unchecked Sendable {
    static let shared = BufferCache()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0, liveBytes = 0, peakLiveBytes = 0, tick = 0
    private var lastUse: [Int: Int] = [:]
    private let lock = NSLock()
    let limitBytes = 4 << 30

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        lock.lock()
        liveBytes += n * 4
        peakLiveBytes = max(peakLiveBytes, liveBytes)
        tick += 1
        lastUse[n] = tick
        if let p = free[n]?.popLast() {
            cachedBytes -= n * 4
            lock.unlock()
            return p
        }
        var release: [UnsafeMutablePointer<Float>] = []
        // The least recently requested sizes go first (the training's, when an evaluation starts).
        while cachedBytes > 0 && liveBytes + cachedBytes > peakLiveBytes + peakLiveBytes / 4,
              let size = free.keys.min(by: { lastUse[$0, default: 0] < lastUse[$1, default: 0] }) {
            if let p = free[size]?.popLast() { release.append(p); cachedBytes -= size * 4 }
            if free[size]?.isEmpty ?? true { free[size] = nil }
        }
        lock.unlock()
        for p in release { p.deallocate() }
        return .allocate(capacity: n)
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let n = max(count, 1)
        lock.lock()
        liveBytes -= n * 4
        if cachedBytes + n * 4 <= limitBytes {
            free[n, default: []].append(p)
            cachedBytes += n * 4
            lock.unlock()
        } else {
            lock.unlock()
            p.deallocate()
        }
    }
}

/// The engine's global settings, scoped per task: the backend and whether a tape is recorded.
public enum Engine {
    /// The backend every op runs on. Override for a scope with `Engine.$backend.withValue(b) { ... }`.
    @TaskLocal public static var backend: any Backend = BackendKind.default.make()
    /// When false, ops record no tape (evaluation, ranking).
    @TaskLocal public static var gradEnabled: Bool = true
    /// When set, convolutions and matrix products add their multiply-adds to it (`countingMultiplyAdds`).
    @TaskLocal static var multiplyAdds: MultiplyAddCounter? = nil
}

final class MultiplyAddCounter: @unchecked Sendable { var total = 0 }

/// The multiply-adds of the convolutions and matrix products `body` runs (forward only; the
/// "FLOPs" or "mult-adds" of the NAS literature, which counts one multiply-add as one).
public func countingMultiplyAdds(_ body: () throws -> Void) rethrows -> Int {
    let c = MultiplyAddCounter()
    try Engine.$multiplyAdds.withValue(c, operation: body)
    return c.total
}

/// Runs body without recording a tape: outputs have no gradient and hold no graph.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try Engine.$gradEnabled.withValue(false, operation: body)
}

/// Runs body on the given backend.
public func withBackend<T>(_ backend: any Backend, _ body: () throws -> T) rethrows -> T {
    try Engine.$backend.withValue(backend, operation: body)
}

/// A float32 tensor with reverse-mode autodiff.
///
/// ```swift
/// let w = Tensor.parameter(shape: [4, 3], rng: &rng)
/// let loss = try x.matmul(w).relu().mean()
/// try loss.backward()
/// print(w.grad!)
/// ```
/// Gradients accumulate across `backward()` calls until `zeroGrad()`.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    var gradStorage: Storage?
    /// Leaves with `requiresGrad` collect gradients; outputs of ops inherit it from their inputs.
    public internal(set) var requiresGrad: Bool
    var parents: [Tensor] = []
    var backwardFn: ((Tensor) -> Void)?
    /// Set while this tensor's own backward function runs (it reads its gradient, which may be shared).
    var runningBackward = false
    /// Optional name (parameters), used in error messages and checkpoints.
    public var name: String?

    public var count: Int { storage.count }
    public var ptr: UnsafeMutablePointer<Float> { storage.ptr }
    public var rank: Int { shape.count }
    public var isLeaf: Bool { backwardFn == nil }

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        self.shape = shape; self.storage = storage; self.requiresGrad = requiresGrad
    }

    /// Zeros of a shape.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor holding values; throws when their number does not match the shape.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) throws {
        let n = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), values.count == n else {
            throw TensorError.shape(op: "Tensor(values:shape:)", message: "\(values.count) values for shape \(shape) (\(n) elements)")
        }
        self.init(shape: shape, storage: Storage(count: n, zeroed: false), requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { ptr.update(from: $0.baseAddress!, count: n) }
    }

    /// A scalar (shape [1]).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [1], storage: Storage(count: 1), requiresGrad: requiresGrad)
        ptr[0] = scalar
    }

    /// A trainable leaf filled by `init` (Kaiming-uniform style when nil: U(-b, b), b = 1/sqrt(fan-in)).
    public static func parameter(shape: [Int], rng: inout RNG, name: String? = nil,
                                 fanIn: Int? = nil) -> Tensor {
        let t = Tensor(zeros: shape, requiresGrad: true)
        let fan = fanIn ?? (shape.count > 1 ? shape.dropFirst().reduce(1, *) : max(1, shape[0]))
        let bound = 1 / Float(fan).squareRoot()
        t.fill { rng.uniform(-bound, bound) }
        t.name = name
        return t
    }

    /// Values as an array.
    public var array: [Float] { Array(UnsafeBufferPointer(start: ptr, count: count)) }
    /// Gradient as an array; nil until a backward pass reached this tensor.
    public var grad: [Float]? { gradStorage.map { Array(UnsafeBufferPointer(start: $0.ptr, count: $0.count)) } }
    /// The gradient buffer, created zeroed on first use.
    public var gradPtr: UnsafeMutablePointer<Float> {
        if gradStorage == nil { gradStorage = Storage(count: count) } else { ownGradient() }
        return gradStorage!.ptr
    }

    /// Gradient buffers of op outputs are shared, not copied, where an op hands its output's
    /// gradient on unchanged to an input with none yet (`receiveGradient`: the two sides of a sum).
    /// Before anything adds into a shared buffer it becomes this tensor's own (copy on write).
    /// Leaves never share theirs (optimizers and `gradTensor` write into them in place).
    func ownGradient() {
        // (the check before any other reference to the buffer is taken)
        guard backwardFn != nil, !runningBackward, gradStorage != nil, !isKnownUniquelyReferenced(&gradStorage) else { return }
        let own = Storage(count: count, zeroed: false)
        Engine.backend.copy(count: count, x: gradStorage!.ptr, y: own.ptr)
        gradStorage = own
    }

    /// self's gradient += `out`'s (same count): `out`'s buffer itself when self is an op output
    /// with no gradient yet, else added (or copied into a new buffer).
    func receiveGradient(of out: Tensor) {
        if gradStorage == nil, backwardFn != nil, let g = out.gradStorage {
            gradStorage = g
            return
        }
        let (d, accumulate) = gradForWrite()
        if accumulate { Engine.backend.axpy(count: count, alpha: 1, x: out.gradPtr, y: d) }
        else { Engine.backend.copy(count: count, x: out.gradPtr, y: d) }
    }
    /// The gradient buffer for a backward step that writes every element of it: the existing
    /// buffer with `accumulate` true (add to it), or a new uncleared one with `accumulate` false
    /// (overwrite it). Clearing a buffer only to add into it was a pass over memory, 5% of a
    /// training step.
    public func gradForWrite() -> (ptr: UnsafeMutablePointer<Float>, accumulate: Bool) {
        ownGradient()
        if let g = gradStorage { return (g.ptr, true) }
        let g = Storage(count: count, zeroed: false)
        gradStorage = g
        return (g.ptr, false)
    }
    /// Whether a backward pass has reached this tensor since the last `zeroGrad()`.
    public var hasGradient: Bool { gradStorage != nil }
    /// The single value of a one-element tensor.
    public var item: Float { ptr[0] }

    /// Clears the accumulated gradient.
    public func zeroGrad() { gradStorage = nil }

    /// Marks a leaf as needing gradients (e.g. GDAS architecture logits).
    public func requiringGrad(_ flag: Bool = true) -> Tensor { requiresGrad = flag; return self }

    /// A copy of the values outside the tape.
    public func detach() -> Tensor {
        let t = Tensor(zeros: shape)
        Engine.backend.copy(count: count, x: ptr, y: t.ptr)
        return t
    }

    /// Output of an op: records the tape entry when any input needs a gradient and a tape is on.
    /// `storage`: the output's values (an op writing over its input's), else a new buffer.
    static func result(_ shape: [Int], _ inputs: [Tensor], zeroed: Bool = false, storage: Storage? = nil,
                       backward: @escaping (_ out: Tensor) -> Void) -> Tensor {
        let t = Tensor(shape: shape, storage: storage ?? Storage(count: shape.reduce(1, *), zeroed: zeroed))
        if Engine.gradEnabled && inputs.contains(where: { $0.requiresGrad }) {
            t.requiresGrad = true
            t.parents = inputs
            t.backwardFn = backward
        }
        return t
    }

    /// Back-propagates from this one-element tensor into every leaf that requires a gradient.
    /// The graph is released afterwards; leaves keep (and accumulate) their gradients.
    public func backward() throws {
        guard count == 1 else { throw TensorError.notScalar(shape: shape) }
        guard requiresGrad else { return }
        gradPtr[0] += 1
        Tensor.propagate(from: [self])
    }

    /// Back-propagates from several tensors at once, each seeded with its gradient (same shape):
    /// one traversal of the union of their graphs, so a part they share runs backward once. How a
    /// prefix that several losses share (NSAS's paths on one batch) back-propagates once.
    public static func backward(seeds: [(tensor: Tensor, gradient: Tensor)]) throws {
        for (t, g) in seeds where t.requiresGrad {
            guard g.count == t.count else { throw TensorError.shape(op: "backward(seeds:)", message: "gradient \(g.shape) for tensor \(t.shape)") }
            Engine.backend.axpy(count: t.count, alpha: 1, x: g.ptr, y: t.gradPtr)
        }
        propagate(from: seeds.map(\.tensor).filter(\.requiresGrad))
    }

    /// Runs the backward functions of every node reachable from `roots`, in reverse topological order.
    static func propagate(from roots: [Tensor]) {
        // Iterative post-order DFS: deep graphs (long RNN unrolls) must not overflow the stack.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = roots.reversed().map { ($0, false) }
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        for node in order.reversed() {
            guard let fn = node.backwardFn else { continue }
            if node.gradStorage != nil {
                node.runningBackward = true
                fn(node)
                node.runningBackward = false
            }
            node.backwardFn = nil
            node.parents = []
            node.gradStorage = nil
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = array.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
