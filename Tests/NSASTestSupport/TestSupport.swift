import NSASTensor
import Testing

/// Records a test issue unless every |a - b| <= atol + rtol * |b|; names the first bad index.
public func assertClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
                        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.count == b.count else {
        Issue.record("\(what): \(a.count) values vs \(b.count)", sourceLocation: sourceLocation)
        return
    }
    // The index with the largest excess over the tolerance; NaN and infinities count as failures.
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<a.count where !(abs(a[i] - b[i]) <= atol + rtol * abs(b[i])) && a[i] != b[i] {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if worst < 0 || !(excess <= worstExcess) { worst = i; worstExcess = excess }
    }
    if worst >= 0 {
        Issue.record("\(what): index \(worst) of \(a.count): \(a[worst]) vs \(b[worst]) (rtol \(rtol), atol \(atol))",
                     sourceLocation: sourceLocation)
    }
}

public func assertClose(_ a: Float, _ b: Float, rtol: Float = 1e-4, atol: Float = 1e-5,
                        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    assertClose([a], [b], rtol: rtol, atol: atol, what, sourceLocation: sourceLocation)
}

/// Random tensor with values in [lo, hi).
public func randomTensor(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1,
                         requiresGrad: Bool = true) -> Tensor {
    var rng = RNG(seed: seed)
    let values = (0..<shape.reduce(1, *)).map { _ in rng.uniform(lo, hi) }
    return try! Tensor(values, shape: shape, requiresGrad: requiresGrad)
}

/// Gradients of L = sum(forward() * R) for a fixed random R, by the tape.
public func tapeGradients(_ inputs: [Tensor], seed: UInt64 = 99, _ forward: () throws -> Tensor) throws -> [[Float]] {
    inputs.forEach { $0.zeroGrad() }
    let out = try forward()
    let r = randomTensor(out.shape, seed: seed, requiresGrad: false)
    try (out * r).sum().backward()
    return inputs.map { $0.grad ?? [Float](repeating: 0, count: $0.count) }
}

/// A fused op with training-mode batch norm against its definition (the ops apart): `forward`
/// runs once each way (`fused` true, then false) with two fresh BN statistics of `channels`
/// channels; the outputs, the running statistics and the gradients of `inputs` (named by
/// `names`) must agree.
public func assertFusedTrainingMatches(_ inputs: [Tensor], names: [String], channels: Int, _ what: String,
                                       sourceLocation: SourceLocation = #_sourceLocation,
                                       _ forward: (_ fused: Bool, _ stats: [BatchNormStats]) throws -> Tensor) throws {
    func run(_ fused: Bool) throws -> (grads: [[Float]], y: [Float], stats: [Float]) {
        let stats = [BatchNormStats(channels: channels), BatchNormStats(channels: channels)]
        var y: [Float] = []
        let grads = try tapeGradients(inputs) {
            let out = try forward(fused, stats)
            y = out.array
            return out
        }
        return (grads, y, stats.flatMap { $0.runningMean.array + $0.runningVar.array })
    }
    let (fused, apart) = (try run(true), try run(false))
    assertClose(fused.y, apart.y, atol: 1e-5, "output \(what)", sourceLocation: sourceLocation)
    assertClose(fused.stats, apart.stats, atol: 1e-6, "running statistics \(what)", sourceLocation: sourceLocation)
    for (j, name) in names.enumerated() {
        assertClose(fused.grads[j], apart.grads[j], atol: 1e-3, "\(name) \(what)", sourceLocation: sourceLocation)
    }
}

/// The same gradients by central differences, the loss accumulated in Double.
public func numericalGradients(_ inputs: [Tensor], seed: UInt64 = 99, eps: Float = 1e-2,
                               _ forward: () throws -> Tensor) throws -> [[Float]] {
    let probe = try withNoGrad(forward)
    let r = randomTensor(probe.shape, seed: seed, requiresGrad: false).array
    func loss() throws -> Double {
        let out = try withNoGrad(forward)
        var acc = 0.0
        for i in 0..<out.count { acc += Double(out.ptr[i]) * Double(r[i]) }
        return acc
    }
    return try inputs.map { t in
        try (0..<t.count).map { i in
            let saved = t.ptr[i]
            t.ptr[i] = saved + eps; let up = try loss()
            t.ptr[i] = saved - eps; let down = try loss()
            t.ptr[i] = saved
            return Float((up - down) / (2 * Double(eps)))
        }
    }
}

/// Checks tape gradients against central differences for every input.
public func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                           _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation,
                           _ forward: () throws -> Tensor) throws {
    let tape = try tapeGradients(inputs, forward)
    let numeric = try numericalGradients(inputs, eps: eps, forward)
    for i in inputs.indices {
        assertClose(tape[i], numeric[i], rtol: rtol, atol: atol, "\(what) input \(i)", sourceLocation: sourceLocation)
    }
}

/// Random values in [lo, hi) from a seed.
public func randomArray(_ count: Int, seed: UInt64, lo: Float = -1, hi: Float = 1) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<count).map { _ in rng.uniform(lo, hi) }
}

/// Dot product in Double, for adjoint identities.
public func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}
