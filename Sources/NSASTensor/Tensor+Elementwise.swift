import NSASBackends

extension Tensor {
    private func unaryOp(_ op: UnaryOp) -> Tensor {
        let b = Engine.backend
        let out = Tensor.result(shape, [self]) { out in
            b.unaryBackward(op, count: out.count, dx: self.gradPtr, dy: out.gradPtr, x: self.ptr, y: out.ptr)
        }
        b.unary(op, count: count, y: out.ptr, x: ptr)
        return out
    }

    public func relu() -> Tensor { unaryOp(.relu) }
    public func tanh() -> Tensor { unaryOp(.tanh) }
    public func sigmoid() -> Tensor { unaryOp(.sigmoid) }
    /// The identity op: the same tensor (no copy, no tape entry).
    public func identity() -> Tensor { self }

    /// self * s for a constant s.
    public func scaled(by s: Float) -> Tensor {
        let b = Engine.backend
        let out = Tensor.result(shape, [self], zeroed: true) { out in
            b.axpy(count: out.count, alpha: s, x: out.gradPtr, y: self.gradPtr)
        }
        b.axpy(count: count, alpha: s, x: ptr, y: out.ptr)
        return out
    }

    /// Zeros of the same shape, outside the tape.
    public func zerosLike() -> Tensor { Tensor(zeros: shape) }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binaryOp(.add, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binaryOp(.sub, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binaryOp(.mul, b) }
    public func add(_ o: Tensor) throws -> Tensor { try binaryOp(.add, o) }
    public func sub(_ o: Tensor) throws -> Tensor { try binaryOp(.sub, o) }
    public func mul(_ o: Tensor) throws -> Tensor { try binaryOp(.mul, o) }

    /// Elementwise a (op) b with NumPy broadcasting (shapes aligned on the right, size-1 axes stretched).
    func binaryOp(_ op: BinaryOp, _ other: Tensor) throws -> Tensor {
        let be = Engine.backend
        if shape == other.shape {
            let out = Tensor.result(shape, [self, other]) { out in
                let n = out.count, dz = out.gradPtr
                switch op {
                case .add:
                    // the first gradient an op output receives is out's buffer itself (self and
                    // other may be one tensor: the second one then adds into its own copy)
                    for t in [self, other] where t.requiresGrad { t.receiveGradient(of: out) }
                case .sub:
                    if self.requiresGrad { self.receiveGradient(of: out) }
                    if other.requiresGrad { be.axpy(count: n, alpha: -1, x: dz, y: other.gradPtr) }
                case .mul:
                    let tmp = Storage(count: n, zeroed: false)
                    if self.requiresGrad {
                        be.binary(.mul, count: n, z: tmp.ptr, a: dz, b: other.ptr)
                        be.axpy(count: n, alpha: 1, x: tmp.ptr, y: self.gradPtr)
                    }
                    if other.requiresGrad {
                        be.binary(.mul, count: n, z: tmp.ptr, a: dz, b: self.ptr)
                        be.axpy(count: n, alpha: 1, x: tmp.ptr, y: other.gradPtr)
                    }
                }
            }
            be.binary(op, count: count, z: out.ptr, a: ptr, b: other.ptr)
            return out
        }
        let map = try Broadcast(shape, other.shape, op: "\(op.rawValue)")
        let out = Tensor.result(map.shape, [self, other]) { out in
            let dz = out.gradPtr
            let da = self.requiresGrad ? self.gradPtr : nil, db = other.requiresGrad ? other.gradPtr : nil
            map.forEach { o, ia, ib in
                let g = dz[o]
                switch op {
                case .add: da?[ia] += g; db?[ib] += g
                case .sub: da?[ia] += g; db?[ib] -= g
                case .mul: da?[ia] += g * other.ptr[ib]; db?[ib] += g * self.ptr[ia]
                }
            }
        }
        let z = out.ptr, a = ptr, b = other.ptr
        map.forEach { o, ia, ib in
            switch op {
            case .add: z[o] = a[ia] + b[ib]
            case .sub: z[o] = a[ia] - b[ib]
            case .mul: z[o] = a[ia] * b[ib]
            }
        }
        return out
    }
}

/// Index mapping for NumPy broadcasting of two shapes.
struct Broadcast {
    let shape: [Int]
    let stridesA: [Int], stridesB: [Int]

    init(_ a: [Int], _ b: [Int], op: String) throws {
        let r = max(a.count, b.count)
        let pa = Array(repeating: 1, count: r - a.count) + a
        let pb = Array(repeating: 1, count: r - b.count) + b
        var out = [Int](), sa = [Int](repeating: 0, count: r), sb = [Int](repeating: 0, count: r)
        for i in 0..<r {
            guard pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1 else {
                throw TensorError.shape(op: op, message: "cannot broadcast \(a) with \(b) (axis \(i): \(pa[i]) vs \(pb[i]))")
            }
            out.append(max(pa[i], pb[i]))
        }
        var accA = 1, accB = 1
        for i in stride(from: r - 1, through: 0, by: -1) {
            sa[i] = pa[i] == 1 ? 0 : accA; accA *= pa[i]
            sb[i] = pb[i] == 1 ? 0 : accB; accB *= pb[i]
        }
        shape = out; stridesA = sa; stridesB = sb
    }

    /// Calls body(outputIndex, indexA, indexB) for every output element in row-major order.
    func forEach(_ body: (Int, Int, Int) -> Void) {
        let total = shape.reduce(1, *)
        if total == 0 { return }
        var idx = [Int](repeating: 0, count: shape.count)
        var ia = 0, ib = 0
        for o in 0..<total {
            body(o, ia, ib)
            var d = shape.count - 1
            while d >= 0 {
                idx[d] += 1; ia += stridesA[d]; ib += stridesB[d]
                if idx[d] < shape[d] { break }
                ia -= stridesA[d] * shape[d]; ib -= stridesB[d] * shape[d]; idx[d] = 0
                d -= 1
            }
        }
    }
}

extension Tensor {
    /// self * s for a one-element tensor s that may need a gradient (an architecture weight):
    /// dself += s * dy, ds += sum(self * dy).
    public func scaled(byTensor s: Tensor) throws -> Tensor {
        guard s.count == 1 else { throw TensorError.shape(op: "scaled(byTensor:)", message: "the scale must have one element, got shape \(s.shape)") }
        let b = Engine.backend
        let out = Tensor.result(shape, [self, s], zeroed: true) { out in
            let dy = out.gradPtr
            if self.requiresGrad { b.axpy(count: out.count, alpha: s.ptr[0], x: dy, y: self.gradPtr) }
            if s.requiresGrad {
                var acc = 0.0
                for i in 0..<out.count { acc += Double(self.ptr[i]) * Double(dy[i]) }
                s.gradPtr[0] += Float(acc)
            }
        }
        b.axpy(count: count, alpha: s.ptr[0], x: ptr, y: out.ptr)
        return out
    }
}
