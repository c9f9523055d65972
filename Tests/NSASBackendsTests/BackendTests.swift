import NSASBackends
import Testing

@Suite struct BackendTests {
    @Test func convOutputSizes() {
        let g = ConvGeometry(n: 2, cIn: 4, h: 32, w: 32, cOut: 8, kH: 3, kW: 3, stride: 2, padding: 1)
        #expect(g.outH == 16 && g.outW == 16)
        let dil = ConvGeometry(n: 1, cIn: 4, h: 32, w: 32, cOut: 4, kH: 5, kW: 5, padding: 4, dilation: 2, groups: 4)
        #expect(dil.outH == 32 && dil.isDepthwise)
        #expect(dil.weightCount == 4 * 25)
        #expect(g.flops == 2.0 * Double(2 * 8 * 16 * 16 * 4 * 9))
    }

    @Test func convProblemsAreNamed() {
        #expect(ConvGeometry(n: 1, cIn: 3, h: 8, w: 8, cOut: 4, kH: 3, kW: 3, groups: 2).problem()?.contains("groups 2") == true)
        #expect(ConvGeometry(n: 1, cIn: 3, h: 2, w: 2, cOut: 4, kH: 5, kW: 5).problem()?.contains("does not fit") == true)
        #expect(ConvGeometry(n: 1, cIn: 3, h: 8, w: 8, cOut: 4, kH: 3, kW: 3, stride: 0).problem() != nil)
        #expect(ConvGeometry(n: 1, cIn: 3, h: 8, w: 8, cOut: 4, kH: 3, kW: 3, padding: 1).problem() == nil)
    }

    @Test func poolGeometry() {
        let g = PoolGeometry(kind: .max, n: 1, c: 1, h: 7, w: 7, kernel: 3, stride: 2, padding: 1)
        #expect(g.outH == 4 && g.outW == 4 && g.problem() == nil)
        #expect(PoolGeometry(kind: .average, n: 1, c: 1, h: 7, w: 7, kernel: 3, stride: 1, padding: 2).problem() != nil)
    }

    @Test func backendKinds() {
        #expect(BackendKind.reference.make().name == "reference")
        #expect(BackendKind.blas.make().name == "blas")
        #expect(BackendKind.default == .blas)
        #expect(BackendKind(rawValue: "gpu") == nil)
    }
}
