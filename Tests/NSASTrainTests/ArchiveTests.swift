import Foundation
import NSASData
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import NSASTrain
import Testing

@Suite struct ArchiveTests {
    /// A genotype whose every node reads (0, 1) with `op`, except what `change` alters.
    func arch(_ op: Primitive = .sepConv3x3, _ change: (inout [Edge], inout [Edge]) -> Void = { _, _ in }) -> Genotype {
        var n = (0..<8).map { Edge(op, $0 % 2) }, r = n
        change(&n, &r)
        return try! Genotype(normal: n, reduce: r)
    }

    @Test func distanceByHand() {
        let a = arch()
        #expect(Novelty.distance(a, a) == 0)
        #expect(Novelty.distance(a, arch { n, _ in n[0] = Edge(.maxPool3x3, 0) }) == 1.0 / 16)
        #expect(Novelty.distance(a, arch { _, r in r[5].op = .dilConv5x5; r[6].op = .skipConnect }) == 2.0 / 16)
        // The order of a node's two edges does not matter; the input does.
        #expect(Novelty.distance(a, arch { n, _ in n.swapAt(0, 1) }) == 0)
        #expect(Novelty.distance(a, arch(.avgPool3x3)) == 1)
        #expect(Novelty.distance(a, arch { n, _ in n[3] = Edge(.sepConv3x3, 2) }) == 1.0 / 16)
    }

    @Test func noveltyIsTheMeanOfTheKNearest() {
        let a = arch()
        let set = [arch { n, _ in n[0].op = .none }, arch(.avgPool3x3), arch { n, r in n[0].op = .none; r[0].op = .none }]
        // distances 1/16, 1, 2/16
        #expect(abs(Novelty.novelty(a, among: set, k: 2) - 1.5 / 16) < 1e-12)
        #expect(abs(Novelty.novelty(a, among: set, k: 10) - (3.0 / 16 + 1) / 3) < 1e-12)
        #expect(Novelty.novelty(a, among: [], k: 3) == 0)
    }

    @Test func archiveFillsThenReplacesTheMostSimilarByAMoreNovelOne() {
        var rng = RNG(seed: 1)
        var archive = ConstraintArchive<Genotype>(capacity: 2, recentCapacity: 10, k: 10, draws: 50)
        let a0 = arch(), a1 = arch { n, _ in n[0].op = .maxPool3x3 }, x = arch(.avgPool3x3)
        archive.update(current: a0, step: 0, rng: &rng)
        archive.update(current: a1, step: 1, rng: &rng)
        #expect(archive.members == [a0, a1] && archive.isFull)
        // Only a0 and a1 are in the recent list: nothing is strictly more novel, nothing changes.
        archive.update(current: x, step: 2, rng: &rng)
        #expect(archive.members == [a0, a1])
        // Now x is in the recent list: a0 (most similar to the current a0) gives way to x.
        archive.update(current: a0, step: 3, rng: &rng)
        #expect(archive.members == [x, a1])
        #expect(archive.changes.last == ConstraintArchive<Genotype>.Change(step: 3, index: 0, added: x))
        #expect(archive.recent == [a0, a1, x, a0])
        // The recent list is a FIFO of its capacity.
        for s in 4..<20 { archive.update(current: a1, step: s, rng: &rng) }
        #expect(archive.recent.count == 10)
    }

    @Test func summedLossGradientIsTheSumOfSinglePathGradients() throws {
        var rng = RNG(seed: 3)
        let net = try Supernet(CNNConfig(layers: 3, channels: 4, imageSize: 8), rng: &rng)
        let x = randomTensor([4, 3, 8, 8], seed: 4, requiresGrad: false), y = [0, 1, 2, 3]
        let a = NamedGenotypes.dartsV1, b = NamedGenotypes.nsas
        func grads(_ paths: [(Genotype, Float)]) throws -> [[Float]] {
            net.parameters.forEach { $0.zeroGrad() }
            for (g, w) in paths { try net.forward(x, arch: g, ForwardContext(training: true)).crossEntropy(labels: y).scaled(by: w).backward() }
            return net.parameters.map { $0.grad ?? [Float](repeating: 0, count: $0.count) }
        }
        let ga = try grads([(a, 1)]), gb = try grads([(b, 1)]), both = try grads([(a, 1), (b, 0.5)])
        for i in ga.indices { assertClose(both[i], zip(ga[i], gb[i]).map { $0 + 0.5 * $1 }, rtol: 1e-4, atol: 1e-6, "parameter \(i)") }
    }

    @Test(arguments: NSASMode.allCases)
    func nsasRunsLowerTheLossAndCheckpointTheArchive(_ mode: NSASMode) throws {
        let dir = NSTemporaryDirectory() + "nsas-archive-\(getpid())-\(mode.rawValue)"
        try? FileManager.default.removeItem(atPath: dir)
        var c = tinySearch(epochs: 2, steps: 8, batch: 32)
        c.method = .nsas; c.archiveSize = 2; c.nsasMode = mode; c.lr = 0.05
        let data = TrainTests.data
        let t = try RandomNASTrainer(config: c, data: data, log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let before = try TrainTests.probeLoss(t.supernet, NamedGenotypes.dartsV2)
        let r = try t.run()
        #expect(try TrainTests.probeLoss(t.supernet, NamedGenotypes.dartsV2) < before)
        #expect(t.archive.members.count == 2)
        // Resume from epoch 1 reproduces epoch 2, archive included.
        let u = try RandomNASTrainer(config: c, data: data, log: RunLog(directory: nil, quiet: true))
        #expect(try u.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        let r2 = try u.run(startEpoch: 1)
        #expect(r2.epochs[0].trainLoss == r.epochs[1].trainLoss)
        #expect(u.archive == t.archive)
    }
}

@Suite struct WPLTests {
    @Test func wplTrainsPathsForSeveralStepsAndResumesExactly() throws {
        var c = tinySearch(epochs: 2, steps: 6, batch: 32)
        c.method = .wpl; c.wplStepsPerPath = 3; c.lr = 0.05; c.wplEps = 50
        let dir = NSTemporaryDirectory() + "nsas-wpl-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let a = try RandomNASTrainer(config: c, data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        a.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let before = try TrainTests.probeLoss(a.supernet, NamedGenotypes.dartsV2)
        let ra = try a.run()
        // Each path trains for 3 consecutive steps.
        let paths = a.epochPaths
        #expect(paths.count == 6 && paths[0] == paths[2] && paths[3] == paths[5] && paths[0] != paths[3])
        #expect(try CheckpointFile(dir + "/epoch-0002.nsasckpt").has("wpl"))
        let b = try RandomNASTrainer(config: c, data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        #expect(try b.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        let rb = try b.run(startEpoch: 1)
        #expect(rb.epochs[0].trainLoss == ra.epochs[1].trainLoss)
        #expect(zip(a.supernet.named(), b.supernet.named()).allSatisfy { $0.1.array == $1.1.array })
        // (The probe runs batch norm in training mode, which moves its statistics: last.)
        #expect(try TrainTests.probeLoss(a.supernet, NamedGenotypes.dartsV2) < before)
    }

    @Test func thePenaltyPullsTowardsTheAnchor() throws {
        // With eps large and a Fisher learned from earlier steps, training a path moves the shared
        // weights less from theta* than plain RandomNAS steps on the same path do.
        func drift(_ eps: Float) throws -> Float {
            var c = tinySearch(epochs: 1, steps: 8, batch: 32)
            c.method = .wpl; c.wplStepsPerPath = 8; c.lr = 0.1; c.wplEps = eps; c.momentum = 0
            let t = try RandomNASTrainer(config: c, data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
            let start = t.supernet.parameters.map(\.array)
            _ = try t.trainEpoch(0)
            return zip(t.supernet.parameters, start).map { p, s in zip(p.array, s).map { abs($0 - $1) }.reduce(0, +) }.reduce(0, +)
        }
        #expect(try drift(1e4) < drift(0))
    }
}

import NSASCheckpoint
