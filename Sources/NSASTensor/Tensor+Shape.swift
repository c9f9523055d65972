extension Tensor {
    /// The same values with another shape (a copy on the tape).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw TensorError.shape(op: "reshape", message: "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let out = Tensor.result(newShape, [self]) { out in
            Engine.backend.copyBlock(rows: 1, cols: out.count, x: out.gradPtr, xStride: 0, y: self.gradPtr, yStride: 0, accumulate: true)
        }
        Engine.backend.copyBlock(rows: 1, cols: count, x: ptr, xStride: 0, y: out.ptr, yStride: 0, accumulate: false)
        return out
    }

    /// (outer, axis, inner) sizes around an axis.
    private func split(at axis: Int) -> (outer: Int, size: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Concatenation along an axis (1 = channels for NCHW). All other sizes must agree.
    public static func concat(_ parts: [Tensor], axis: Int = 1) throws -> Tensor {
        try concatSums(parts.map { [$0] }, axis: axis)
    }

    /// The concatenation along `axis` of sums: part i is the sum of `groups[i]`, one tensor or two
    /// of one shape. A cell's output, where a node that no later node reads is the sum of its two
    /// op outputs written straight into its channels (one pass over memory instead of three).
    /// Backward: a part's first tensor receives its block of the gradient, the second shares it.
    public static func concatSums(_ groups: [[Tensor]], axis: Int = 1) throws -> Tensor {
        guard let first = groups.first?.first else { throw TensorError.argument(op: "concat", message: "nothing to concatenate") }
        guard axis >= 0 && axis < first.rank else {
            throw TensorError.argument(op: "concat", message: "axis \(axis) out of range for shape \(first.shape)")
        }
        for g in groups {
            guard (1...2).contains(g.count) else { throw TensorError.argument(op: "concat", message: "a part sums one or two tensors, got \(g.count)") }
            if g.count == 2 && g[0].shape != g[1].shape {
                throw TensorError.shape(op: "concat", message: "the two summed tensors of a part have shapes \(g[0].shape) and \(g[1].shape)")
            }
            let p = g[0]
            if p.rank != first.rank || p.shape[..<axis] != first.shape[..<axis] || p.shape[(axis + 1)...] != first.shape[(axis + 1)...] {
                throw TensorError.shape(op: "concat", message: "shapes \(first.shape) and \(p.shape) differ outside axis \(axis)")
            }
        }
        var shape = first.shape
        shape[axis] = groups.reduce(0) { $0 + $1[0].shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let stride = shape[axis] * inner
        let b = Engine.backend
        let out = Tensor.result(shape, groups.flatMap { $0 }) { out in
            var offset = 0
            for g in groups {
                let len = g[0].shape[axis] * inner
                var shared: Tensor? = nil   // a first tensor whose gradient is exactly this block
                for p in g where p.requiresGrad {
                    if let s = shared, s !== p { p.receiveGradient(of: s); continue }
                    let (d, accumulate) = p.gradForWrite()   // a tensor may appear twice: the second adds
                    b.copyBlock(rows: outer, cols: len, x: out.gradPtr + offset, xStride: stride, y: d, yStride: len, accumulate: accumulate)
                    if !accumulate && p.backwardFn != nil { shared = p }   // (a leaf's buffer is never shared)
                }
                offset += len
            }
        }
        var offset = 0
        for g in groups {
            let len = g[0].shape[axis] * inner
            if g.count == 2 { b.addBlock(rows: outer, cols: len, a: g[0].ptr, b: g[1].ptr, z: out.ptr + offset, zStride: stride) }
            else { b.copyBlock(rows: outer, cols: len, x: g[0].ptr, xStride: len, y: out.ptr + offset, yStride: stride, accumulate: false) }
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
        let b = Engine.backend
        let out = Tensor.result(newShape, [self]) { out in
            b.copyBlock(rows: outer, cols: len, x: out.gradPtr, xStride: len, y: self.gradPtr + start * inner, yStride: size * inner, accumulate: true)
        }
        b.copyBlock(rows: outer, cols: len, x: ptr + start * inner, xStride: size * inner, y: out.ptr, yStride: len, accumulate: false)
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
        let b = Engine.backend
        let out = Tensor.result([shape[0], shape[1], height, width], [self]) { out in
            for p in 0..<planes {
                b.copyBlock(rows: height, cols: width, x: out.gradPtr + p * height * width, xStride: width,
                            y: self.gradPtr + (p * h + top) * w + left, yStride: w, accumulate: true)
            }
        }
        for p in 0..<planes {
            b.copyBlock(rows: height, cols: width, x: ptr + (p * h + top) * w + left, xStride: w, y: out.ptr + p * height * width,
                        yStride: width, accumulate: false)
        }
        return out
    }
}
