extension Tensor {
    /// The same values with another shape (a copy on the tape).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw TensorError.shape(op: "reshape", message: "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let out = Tensor.result(newShape, [self]) { out in
            let dx = self.gradPtr, dy = out.gradPtr
            for i in 0..<out.count { dx[i] += dy[i] }
        }
        out.ptr.update(from: ptr, count: count)
        return out
    }

    /// (outer, axis, inner) sizes around an axis.
    private func split(at axis: Int) -> (outer: Int, size: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Concatenation along an axis (1 = channels for NCHW). All other sizes must agree.
    public static func concat(_ parts: [Tensor], axis: Int = 1) throws -> Tensor {
        guard let first = parts.first else { throw TensorError.argument(op: "concat", message: "nothing to concatenate") }
        guard axis >= 0 && axis < first.rank else {
            throw TensorError.argument(op: "concat", message: "axis \(axis) out of range for shape \(first.shape)")
        }
        for p in parts where p.rank != first.rank || p.shape[..<axis] != first.shape[..<axis]
            || p.shape[(axis + 1)...] != first.shape[(axis + 1)...] {
            throw TensorError.shape(op: "concat", message: "shapes \(first.shape) and \(p.shape) differ outside axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let total = shape[axis]
        let out = Tensor.result(shape, parts) { out in
            var offset = 0
            for p in parts {
                let len = p.shape[axis] * inner
                if p.requiresGrad {
                    let dp = p.gradPtr
                    for o in 0..<outer {
                        let src = out.gradPtr + (o * total * inner + offset)
                        for i in 0..<len { dp[o * len + i] += src[i] }
                    }
                }
                offset += len
            }
        }
        var offset = 0
        for p in parts {
            let len = p.shape[axis] * inner
            for o in 0..<outer { (out.ptr + o * total * inner + offset).update(from: p.ptr + o * len, count: len) }
            offset += len
        }
        return out
    }

    /// The slice start..<start+length along an axis (1 = channels for NCHW).
    public func narrow(axis: Int, start: Int, length: Int) throws -> Tensor {
        guard axis >= 0 && axis < rank, start >= 0, length >= 0, start + length <= shape[axis] else {
            throw TensorError.argument(op: "narrow", message: "slice \(start)..<\(start + length) of axis \(axis) is outside shape \(shape)")
        }
        let (outer, size, inner) = split(at: axis)
        var newShape = shape; newShape[axis] = length
        let len = length * inner
        let out = Tensor.result(newShape, [self]) { out in
            let dx = self.gradPtr
            for o in 0..<outer {
                let d = dx + (o * size + start) * inner, s = out.gradPtr + o * len
                for i in 0..<len { d[i] += s[i] }
            }
        }
        for o in 0..<outer { (out.ptr + o * len).update(from: ptr + (o * size + start) * inner, count: len) }
        return out
    }

    /// Spatial crop of (N,C,H,W): rows top..<top+height, columns left..<left+width
    /// (FactorizedReduce's one-pixel shift is `crop(top: 1, left: 1, ...)`).
    public func crop(top: Int, left: Int, height: Int, width: Int) throws -> Tensor {
        guard rank == 4 else { throw TensorError.shape(op: "crop", message: "input must be (N,C,H,W), got \(shape)") }
        let h = shape[2], w = shape[3]
        guard top >= 0, left >= 0, height >= 1, width >= 1, top + height <= h, left + width <= w else {
            throw TensorError.argument(op: "crop", message: "window \(height)x\(width) at (\(top),\(left)) is outside \(h)x\(w)")
        }
        let planes = shape[0] * shape[1]
        let out = Tensor.result([shape[0], shape[1], height, width], [self]) { out in
            let dx = self.gradPtr, dy = out.gradPtr
            for p in 0..<planes { for r in 0..<height {
                let d = dx + (p * h + top + r) * w + left, s = dy + (p * height + r) * width
                for c in 0..<width { d[c] += s[c] }
            } }
        }
        for p in 0..<planes { for r in 0..<height {
            (out.ptr + (p * height + r) * width).update(from: ptr + (p * h + top + r) * w + left, count: width)
        } }
        return out
    }
}
