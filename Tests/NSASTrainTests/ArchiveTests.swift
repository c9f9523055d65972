import Foundation
import NSASData
import NSASRun
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
        #expect(a.distance(to: a) == 0)
        #expect(a.distance(to: arch { n, _ in n[0] = Edge(.maxPool3x3, 0) }) == 1.0 / 16)
        #expect(a.distance(to: arch { _, r in r[5].op = .dilConv5x5; r[6].op = .skipConnect }) == 2.0 / 16)
        // The order of a node's two edges does not matter; the input does.
        #expect(a.distance(to: arch { n, _ in n.swapAt(0, 1) }) == 0)
        #expect(a.distance(to: arch(.avgPool3x3)) == 1)
        #expect(a.distance(to: arch { n, _ in n[3] = Edge(.sepConv3x3, 2) }) == 1.0 / 16)
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

    @Test func nsasLowersTheLoss() throws {
        var c = tinyCNN(.nsas, epochs: 2, steps: 20, batch: 32)
        c.optimizer.lr = 0.05
        let probes = [NamedGenotypes.dartsV2, NamedGenotypes.nsas, NamedGenotypes.dartsV1]
        func mean(_ s: any AnySearch) throws -> Float { try probes.map { try probeLoss(supernet(s), $0) }.reduce(0, +) / 3 }
        let before = try mean(try Search.make(c, log: quietLog()))
        let t = try Search.make(c, log: quietLog())
        let r = try t.run(startEpoch: 0)
        let after = try mean(t)
        #expect(after < before, "mean probe loss \(before) -> \(after); train losses \(r.epochs.map(\.trainLoss))")
    }

    @Test func randomAndFIFOPoliciesReplaceAsDocumented() {
        var rng = RNG(seed: 2)
        let a0 = arch(), a1 = arch { n, _ in n[0].op = .maxPool3x3 }, x = arch(.avgPool3x3), y = arch(.dilConv3x3)
        var fifo = ConstraintArchive<Genotype>(capacity: 2, recentCapacity: 10, k: 10, draws: 5, policy: .fifo)
        for (s, g) in [a0, a1, x, y, a0].enumerated() { fifo.update(current: g, step: s, rng: &rng) }
        #expect(fifo.members == [a0, y])                       // the last two sampled, oldest slot replaced first
        var random = ConstraintArchive<Genotype>(capacity: 2, recentCapacity: 10, k: 10, draws: 5, policy: .random)
        random.update(current: a0, step: 0, rng: &rng); random.update(current: a1, step: 1, rng: &rng)
        for s in 2..<40 { random.update(current: s % 2 == 0 ? x : y, step: s, rng: &rng) }
        // Members come from the recent list at random, not by novelty: x and y both get in over time.
        #expect(Set(random.changes.map(\.added)).isSuperset(of: [x, y]))
    }

    @Test(arguments: NSASMode.allCases, ArchivePolicy.allCases)
    func nsasRunsLowerTheLossAndResumeWithTheirArchive(_ mode: NSASMode, _ policy: ArchivePolicy) throws {
        let dir = freshDir("archive-\(mode.rawValue)-\(policy.rawValue)")
        var c = tinyCNN(.nsas, epochs: 2, steps: 8, batch: 32)
        c.nsas?.mode = mode; c.nsas?.policy = policy; c.optimizer.lr = 0.05
        let t = try Search.make(c, log: quietLog())
        t.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let before = try probeLoss(supernet(try Search.make(c, log: quietLog())), NamedGenotypes.dartsV2)
        let r = try t.run(startEpoch: 0)
        let archive = (t.methodObject as! NSAS<RandomNAS<DARTSCNNSpace>>).archive
        #expect(archive.members.count == 2 && archive.policy == policy)
        let u = try Search.make(c, log: quietLog())
        #expect(try u.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        let r2 = try u.run(startEpoch: 1)
        #expect(r2.epochs[0].trainLoss == r.epochs[1].trainLoss)
        #expect((u.methodObject as! NSAS<RandomNAS<DARTSCNNSpace>>).archive == archive)
        // At this size (16 steps, losses near chance) a probe of one path is noise; `nsasLowersTheLoss`
        // checks learning on a longer run.
        #expect(try probeLoss(supernet(t), NamedGenotypes.dartsV2).isFinite && before.isFinite)
    }
}

@Suite struct WPLTests {
    @Test func wplTrainsPathsForSeveralSteps() throws {
        var c = tinyCNN(.wpl, epochs: 1, steps: 6, batch: 32)
        c.wpl?.stepsPerPath = 3
        let a = try Search.make(c, log: quietLog())
        _ = try a.trainEpoch(0)
        let p = a.pathTexts
        #expect(p.count == 6 && p[0] == p[2] && p[3] == p[5] && p[0] != p[3])
    }

    @Test func thePenaltyPullsTowardsTheAnchor() throws {
        // With eps large and a Fisher learned from earlier steps, training a path moves the shared
        // weights less from theta* than plain RandomNAS steps on the same path do.
        func drift(_ eps: Float) throws -> Float {
            var c = tinyCNN(.wpl, epochs: 1, steps: 8, batch: 32)
            c.wpl?.stepsPerPath = 8; c.optimizer.lr = 0.1; c.wpl?.eps = eps; c.optimizer.momentum = 0
            let t = try Search.make(c, log: quietLog())
            let start = weights(t)
            _ = try t.trainEpoch(0)
            return zip(weights(t), start).map { p, s in zip(p, s).map { abs($0 - $1) }.reduce(0, +) }.reduce(0, +)
        }
        #expect(try drift(1e4) < drift(0))
    }
}
