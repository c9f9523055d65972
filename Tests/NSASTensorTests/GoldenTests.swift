import Foundation
import NSASBackends
import NSASTensor
import NSASTestSupport
import Testing

/// Forward values and gradients against PyTorch (Tools/make-golden.py wrote Golden/ops.json).
@Suite struct GoldenTests {
    struct Input: Decodable { let shape: [Int]; let seed: Int; let scale: Float }
    struct Params: Decodable { let labels: [Int]?; let ids: [Int]? }
    struct Case: Decodable {
        let name: String; let params: Params; let inputs: [String: Input]; let r_seed: Int
        let out_shape: [Int]; let out: [Float]; let grads: [String: [Float]]
    }
    struct File: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/ops.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    /// Element i of seed s: float32(sin(0.731 i + 1.37 s)) * scale, as the generator does.
    static func values(_ shape: [Int], seed: Int, scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        let v = (0..<n).map { Float(sin(0.731 * Double($0) + 1.37 * Double(seed))) * scale }
        return try! Tensor(v, shape: shape, requiresGrad: true)
    }

    static func run(_ c: Case, _ t: [String: Tensor]) throws -> Tensor {
        switch c.name {
        case "conv2d_s2_p1": return try t["x"]!.conv2d(t["w"]!, stride: 2, padding: 1)
        case "dil_conv_5x5_depthwise": return try t["x"]!.conv2d(t["w"]!, padding: 4, dilation: 2, groups: 3)
        case "sep_conv_3x3_s2":
            return try t["x"]!.relu().conv2d(t["dw"]!, stride: 2, padding: 1, groups: 4).conv2d(t["pw"]!)
        case "max_pool_3x3_s2": return try t["x"]!.maxPool2d(kernel: 3, stride: 2, padding: 1)
        case "avg_pool_3x3_s1_exclude_pad": return try t["x"]!.avgPool2d(kernel: 3, stride: 1, padding: 1)
        case "batch_norm_train_affine":
            return try t["x"]!.batchNorm(BatchNormStats(channels: 3), gamma: t["g"]!, beta: t["b"]!, training: true)
        case "batch_norm_train_plain": return try t["x"]!.batchNorm(BatchNormStats(channels: 3), training: true)
        case "linear": return try t["x"]!.linear(t["w"]!, bias: t["b"]!)
        case "cross_entropy": return try t["x"]!.crossEntropy(labels: c.params.labels!)
        case "softmax": return try t["x"]!.softmax()
        case "activations":
            let x = t["x"]!
            return try x.tanh() * x.sigmoid() + x.relu()
        case "embedding": return try t["t"]!.embedding(c.params.ids!)
        case "factorized_reduce":
            let x = t["x"]!.relu()
            let a = try x.conv2d(t["w1"]!, stride: 2)
            let b = try x.crop(top: 1, left: 1, height: 5, width: 5).conv2d(t["w2"]!, stride: 2)
            return try Tensor.concat([a, b], axis: 1)
        case "global_avg_pool": return try t["x"]!.globalAvgPool()
        default: throw TensorError.argument(op: "golden", message: "unknown case \(c.name)")
        }
    }

    @Test func allCasesAreKnown() {
        #expect(Self.cases.count >= 14)
    }

    @Test(arguments: BackendKind.allCases)
    func matchesPyTorch(_ kind: BackendKind) throws {
        try withBackend(kind.make()) {
            for c in Self.cases {
                let inputs = c.inputs.mapValues { Self.values($0.shape, seed: $0.seed, scale: $0.scale) }
                let out = try Self.run(c, inputs)
                #expect(out.shape == c.out_shape, "\(c.name)")
                assertClose(out.array, c.out, rtol: 1e-4, atol: 1e-5, "\(c.name) forward on \(kind)")
                let r = Self.values(out.shape, seed: c.r_seed).requiringGrad(false)
                try (out * r).sum().backward()
                for (name, expected) in c.grads {
                    assertClose(inputs[name]!.grad ?? [], expected, rtol: 1e-3, atol: 1e-4, "\(c.name) d/d\(name) on \(kind)")
                }
            }
        }
    }
}
