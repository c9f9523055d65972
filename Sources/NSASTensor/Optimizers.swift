/// SGD with momentum, weight decay and the Nesterov option (PyTorch's update rule:
/// g = grad + wd * w; v = mu * v + g; step = nesterov ? g + mu * v : v; w -= lr * step).
public final class SGD {
    public let parameters: [Tensor]
    public var lr: Float
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Momentum buffers, one per parameter (empty until the first step).
    public var velocity: [[Float]]

    public init(parameters: [Tensor], lr: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters; self.lr = lr; self.momentum = momentum
        self.weightDecay = weightDecay; self.nesterov = nesterov
        velocity = parameters.map { _ in [] }
    }

    /// One update from the accumulated gradients; parameters without a gradient are left alone
    /// (single-path training: ops off the path are not touched, not even by weight decay).
    public func step() {
        let b = Engine.backend
        for (i, p) in parameters.enumerated() {
            guard let gs = p.gradStorage else { continue }
            if momentum != 0 && velocity[i].isEmpty { velocity[i] = [Float](repeating: 0, count: p.count) }
            if momentum == 0 {
                b.sgdUpdate(count: p.count, w: p.ptr, g: gs.ptr, v: nil, lr: lr, momentum: 0, weightDecay: weightDecay, nesterov: nesterov)
            } else {
                velocity[i].withUnsafeMutableBufferPointer { v in
                    b.sgdUpdate(count: p.count, w: p.ptr, g: gs.ptr, v: v.baseAddress!, lr: lr, momentum: momentum,
                                weightDecay: weightDecay, nesterov: nesterov)
                }
            }
        }
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}

/// Adam with L2 weight decay added to the gradient (PyTorch's `Adam(weight_decay:)`), as GDAS uses.
public final class Adam {
    public let parameters: [Tensor]
    public var lr: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public var m: [[Float]], v: [[Float]]
    /// Steps taken per parameter (bias correction).
    public var steps: [Int]

    public init(parameters: [Tensor], lr: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0) {
        self.parameters = parameters; self.lr = lr; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay
        m = parameters.map { [Float](repeating: 0, count: $0.count) }
        v = m
        steps = parameters.map { _ in 0 }
    }

    public func step() {
        let b = Engine.backend
        for (i, p) in parameters.enumerated() {
            guard let gs = p.gradStorage else { continue }
            steps[i] += 1
            let t = Float(steps[i])
            let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
            m[i].withUnsafeMutableBufferPointer { mm in
                v[i].withUnsafeMutableBufferPointer { vv in
                    b.adamUpdate(count: p.count, w: p.ptr, g: gs.ptr, m: mm.baseAddress!, v: vv.baseAddress!, lr: lr, beta1: beta1,
                                 beta2: beta2, eps: eps, weightDecay: weightDecay, c1: c1, c2: c2)
                }
            }
        }
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}

import Foundation

/// Scales all gradients so that their joint L2 norm is at most maxNorm; returns the norm before.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let norm = Float(parameters.reduce(0.0) { $0 + $1.gradSumOfSquares }.squareRoot())
    if norm > maxNorm && norm > 0 {
        let s = maxNorm / (norm + 1e-6)
        for p in parameters { p.scaleGrad(by: s) }
    }
    return norm
}
