import Foundation
import NSASData
import NSASSearchSpace
import NSASTensor
import Testing

/// The memory estimate that refuses runs which cannot fit, and the memory a process may use.
@Suite struct MemoryBudgetTests {
    @Test func refusesOnlyAboveWhatIsAvailable() throws {
        try MemoryBudget.check(1e9, what: "x", available: 2e9)
        do {
            try MemoryBudget.check(3.5 * 1_073_741_824, what: "this net", available: 2 * 1_073_741_824)
            Issue.record("not refused")
        } catch {
            #expect("\(error)".contains("this net needs at least 3.5 GiB of memory (estimate), more than the 2.0 GiB"))
        }
    }

    @Test func cgroupLimitsLowerTheMachinesMemory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-mem-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/job/step", withIntermediateDirectories: true)
        try "0::/job/step\n".write(toFile: root + "/cgroup", atomically: true, encoding: .utf8)
        try "max\n".write(toFile: root + "/job/step/memory.max", atomically: true, encoding: .utf8)
        let machine = Double(ProcessInfo.processInfo.physicalMemory)
        #expect(MemoryBudget.available(cgroupRoot: root, procCgroup: root + "/cgroup") == machine)
        try "1073741824\n".write(toFile: root + "/job/memory.max", atomically: true, encoding: .utf8)   // an ancestor's limit
        #expect(MemoryBudget.available(cgroupRoot: root, procCgroup: root + "/cgroup") == min(machine, 1_073_741_824))
        // cgroup v1
        try FileManager.default.createDirectory(atPath: root + "/memory/job", withIntermediateDirectories: true)
        try "5:memory:/job\n".write(toFile: root + "/cgroup1", atomically: true, encoding: .utf8)
        try "536870912\n".write(toFile: root + "/memory/job/memory.limit_in_bytes", atomically: true, encoding: .utf8)
        #expect(MemoryBudget.available(cgroupRoot: root, procCgroup: root + "/cgroup1") == min(machine, 536_870_912))
    }

    /// The estimate is a lower bound: its weight part never exceeds the real supernet's parameters,
    /// and it is not far below them; it grows with the batch and the network.
    @Test func cnnEstimateIsALowerBoundOfTheParameters() throws {
        let data = try DataSource.load("default")
        for (layers, channels) in [(3, 4), (5, 8), (8, 16)] {
            var o = DARTSCNNSpace.defaults(standalone: false).1
            o.layers = layers; o.channels = channels
            var rng = RNG(seed: 1)
            let net = try Supernet(CNNConfig(layers: layers, channels: channels, inputChannels: data.channels, imageSize: data.imageSize), rng: &rng)
            let weights = 4 * Double(net.parameterCount)
            let evaluate1 = DARTSCNNSpace.memoryEstimate(o, data: data, batch: 1, training: false, supernet: true)
            #expect(evaluate1 < weights * 1.1, "\(layers) cells, C=\(channels): \(evaluate1) against \(weights)")
            #expect(evaluate1 > weights * 0.5, "\(layers) cells, C=\(channels): \(evaluate1) against \(weights)")
            let train64 = DARTSCNNSpace.memoryEstimate(o, data: data, batch: 64, training: true, supernet: true)
            #expect(train64 > DARTSCNNSpace.memoryEstimate(o, data: data, batch: 32, training: true, supernet: true))
            #expect(train64 > DARTSCNNSpace.memoryEstimate(o, data: data, batch: 64, training: true, supernet: false))
            // evaluation runs in slices: past a slice, a bigger batch adds only its input images
            let slice = Tensor.evaluationSlice
            let evaluateSlice = DARTSCNNSpace.memoryEstimate(o, data: data, batch: slice, training: false, supernet: true)
            let evaluate4k = DARTSCNNSpace.memoryEstimate(o, data: data, batch: slice + 4096, training: false, supernet: true)
            #expect(evaluate4k - evaluateSlice == 4 * 4096 * Double(data.channels * data.imageSize * data.imageSize))
            #expect(evaluateSlice > evaluate1)
        }
    }
}
