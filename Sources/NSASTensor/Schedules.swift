import Foundation

/// Cosine annealing from `base` to `minimum` over `total` epochs (PyTorch's CosineAnnealingLR):
/// lr(e) = min + (base - min) * (1 + cos(pi * e / total)) / 2.
public struct CosineAnnealing: Codable, Equatable, Sendable {
    public var base: Float, minimum: Float, total: Int
    public init(base: Float, minimum: Float, total: Int) { self.base = base; self.minimum = minimum; self.total = max(total, 1) }
    public func lr(epoch: Int) -> Float {
        let e = Float(min(max(epoch, 0), total))
        return minimum + (base - minimum) * (1 + Foundation.cos(Float.pi * e / Float(total))) / 2
    }
}

/// Linear decay from `start` to `end` over `total` epochs (GDAS's temperature).
public struct LinearDecay: Codable, Equatable, Sendable {
    public var start: Float, end: Float, total: Int
    public init(start: Float, end: Float, total: Int) { self.start = start; self.end = end; self.total = max(total, 1) }
    public func value(epoch: Int) -> Float {
        let f = Float(min(max(epoch, 0), total)) / Float(total)
        return start - (start - end) * f
    }
}
