/// Moving data into, out of and between tensors, through the backend (what the trainers, the
/// optimisers and the checkpoint reader use instead of touching tensor memory).
extension Tensor {
    /// Every element = value.
    public func fill(_ value: Float) { Engine.backend.fill(count: count, value: value, y: ptr) }

    /// Every element from a host-side generator (initialisation from a seeded RNG), in order.
    public func fill(_ generate: () -> Float) {
        let values = (0..<count).map { _ in generate() }
        values.withUnsafeBufferPointer { Engine.backend.copy(count: count, x: $0.baseAddress!, y: ptr) }
    }

    /// Copies host values in; their count must be the tensor's.
    public func load(_ values: [Float]) throws {
        guard values.count == count else {
            throw TensorError.argument(op: "load", message: "\(values.count) values for a tensor of \(count) (\(shape))")
        }
        values.withUnsafeBufferPointer { Engine.backend.copy(count: count, x: $0.baseAddress!, y: ptr) }
    }

    /// Copies another tensor's values; the counts must match.
    public func copy(from other: Tensor) throws {
        guard other.count == count else {
            throw TensorError.argument(op: "copy", message: "\(other.count) values for a tensor of \(count) (\(shape))")
        }
        Engine.backend.copy(count: count, x: other.ptr, y: ptr)
    }

    /// The largest |self[i] - values[i]| (NaN when a difference is NaN); the counts must match.
    public func maxAbsDifference(_ values: [Float]) throws -> Float {
        guard values.count == count else {
            throw TensorError.argument(op: "maxAbsDifference", message: "\(values.count) values for a tensor of \(count)")
        }
        return values.withUnsafeBufferPointer { Engine.backend.maxAbsDifference(count: count, a: ptr, b: $0.baseAddress!) }
    }

    /// Whether every value is finite (no NaN, no infinity), through the backend.
    public var allFinite: Bool { Engine.backend.sumOfSquares(count: count, x: ptr).isFinite }

    /// The sum of the squared gradient (0 without one).
    public var gradSumOfSquares: Double {
        guard let g = gradStorage else { return 0 }
        return Engine.backend.sumOfSquares(count: count, x: g.ptr)
    }

    /// Scales the gradient, if there is one.
    public func scaleGrad(by alpha: Float) {
        guard gradStorage != nil else { return }
        Engine.backend.scale(count: count, alpha: alpha, y: gradPtr)
    }

}

extension Tensor {
    /// self += alpha * x, in place (no tape); the counts must match.
    public func add(_ x: Tensor, scaledBy alpha: Float) throws {
        guard x.count == count else { throw TensorError.argument(op: "add(_:scaledBy:)", message: "\(x.count) values for \(count)") }
        Engine.backend.axpy(count: count, alpha: alpha, x: x.ptr, y: ptr)
    }

    /// self *= alpha, in place (no tape).
    public func multiply(by alpha: Float) { Engine.backend.scale(count: count, alpha: alpha, y: ptr) }

    /// The gradient as a tensor sharing its memory (nil without one): in-place updates of it change the gradient.
    public var gradTensor: Tensor? { gradStorage.map { Tensor(shape: shape, storage: $0) } }
}
