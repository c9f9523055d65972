import NSASBackends
import Testing

@Suite struct OpenBLASCoreTests {
    let avx512: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]
    let avx2: Set<String> = ["sse2", "avx", "avx2", "fma"]

    @Test func tiers() {
        #expect(OpenBLASCore.tier(ofCPUFlags: avx512) == 3)
        #expect(OpenBLASCore.tier(ofCPUFlags: avx2) == 2)
        #expect(OpenBLASCore.tier(ofCPUFlags: ["sse2"]) == 0)
        #expect(OpenBLASCore.tier(ofCore: "Prescott") == 0)
        #expect(OpenBLASCore.tier(ofCore: "SkylakeX") == 3)
        #expect(OpenBLASCore.tier(ofCore: "Cooperlake") == 3)
        #expect(OpenBLASCore.tier(ofCore: "NewCore9000") == nil)
    }

    @Test func misdetectedCoreIsUpgraded() {
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: avx512, userCoreType: nil, policy: nil).force == "SkylakeX")
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: avx2, userCoreType: nil, policy: nil).force == "Haswell")
        #expect(OpenBLASCore.decide(detected: "Sandybridge", cpuFlags: avx2, userCoreType: nil, policy: "auto").force == "Haswell")
    }

    @Test func correctChoicesAreKept() {
        #expect(OpenBLASCore.decide(detected: "Cooperlake", cpuFlags: avx512, userCoreType: nil, policy: nil).force == nil)
        #expect(OpenBLASCore.decide(detected: "Zen", cpuFlags: avx2, userCoreType: nil, policy: nil).force == nil)
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: ["sse2", "sse3"], userCoreType: nil, policy: nil).force == nil)
        // Unknown names are left alone rather than guessed at.
        #expect(OpenBLASCore.decide(detected: "NewCore9000", cpuFlags: avx512, userCoreType: nil, policy: nil).force == nil)
    }

    @Test func userChoicesWin() {
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: avx512, userCoreType: "Haswell", policy: nil).force == nil)
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: avx512, userCoreType: nil, policy: "keep").force == nil)
        #expect(OpenBLASCore.decide(detected: "Prescott", cpuFlags: avx512, userCoreType: "Prescott", policy: "upgrade").force == "SkylakeX")
        #expect(OpenBLASCore.decide(detected: "SkylakeX", cpuFlags: avx512, userCoreType: nil, policy: "Haswell").force == "haswell")
    }

    @Test func liveCoreIsNotBelowTheCPU() {
        // On this machine, after the check, the library runs kernels of the CPU's tier (unless the
        // user pinned a core type, which is respected).
        let s = OpenBLASCore.status
        if let tier = OpenBLASCore.tier(ofCore: s.inUse), !s.note.contains("set by the user"), !s.note.contains("keep") {
            #expect(tier >= s.cpuTier, "\(s.summary)")
        }
    }
}
