import Foundation
import NSASCheckpoint
import NSASData
import NSASRun
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import NSASTrain
import Testing

@Suite(.serialized) struct TrainTests {
    @Test func randomNASLowersTheLossAndSelectsAParsableGenotype() throws {
        var c = tinyCNN(epochs: 2, steps: 12, batch: 32)
        c.optimizer.lr = 0.05; c.selection?.samples = 4; c.selection?.top = 2; c.evalBatch = 200
        let s = try Search.make(c, log: quietLog())
        let before = try probeLoss(supernet(s), NamedGenotypes.dartsV2)
        let r = try s.run(startEpoch: 0)
        #expect(try probeLoss(supernet(s), NamedGenotypes.dartsV2) < before)
        #expect(r.epochs.count == 2 && r.epochs.allSatisfy { $0.trainLoss.isFinite && $0.trainAccuracy != nil })
        #expect(try Genotype(parsing: r.genotype).canonical == r.canonical)
        #expect(r.value >= 0 && r.value <= 1 && r.score == .accuracy)
    }

    @Test func standaloneTrainsWritesMetricsAndCheckpoints() throws {
        let dir = freshDir("standalone")
        var c = tinyCNN(.standalone, epochs: 2, steps: 12, batch: 32, genotype: NamedGenotypes.nsas)
        var o = try c.network.decode(DARTSCNNOptions.self)
        o.cutout = 8
        c.network = try JSONValue(encoding: o)
        c.optimizer.lr = 0.05; c.evalBatch = 200
        let s = try Standalone.make(c, log: RunLog(directory: dir, quiet: true))
        s.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let r = try s.run(startEpoch: 0)
        #expect(r.epochs.count == 2 && r.epochs[1].trainLoss < r.epochs[0].trainLoss)
        #expect(r.validation >= 0 && r.test <= 1 && r.parameters > 0 && (r.flops ?? 0) > 0)
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let events = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["event"] as! String }
        #expect(events == ["epoch", "epoch", "standalone"])
        // A checkpoint every epoch; resuming from epoch 1 ends with the same weights.
        #expect(try RunDirectory.files(dir).count == 2)
        let u = try Standalone.make(c, log: quietLog())
        #expect(try u.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        let r2 = try u.run(startEpoch: 1)
        #expect(u.namedWeights().map { $0.1.array } == s.namedWeights().map { $0.1.array })
        #expect(r2.validation == r.validation && r2.test == r.test)
        let (g, _, how) = try CheckpointGenotype.load(dir + "/epoch-0002.nsasckpt")
        #expect(g.canonical == NamedGenotypes.nsas.canonical && how.contains("stand-alone"))
        // Stand-alone runs replay too, from the seed and from epoch 1.
        let (all, none) = try Replay(directory: dir, log: quietLog()).run(from: 0, to: nil)
        #expect(none == nil && all.count == 2 && all.allSatisfy { $0.maxWeightDifference == 0 })
        let (one, none1) = try Replay(directory: dir, log: quietLog()).run(from: 1, to: nil)
        #expect(none1 == nil && one.map(\.epoch) == [2])
    }

    /// A NAS-Bench-201 cell trained stand-alone: checkpoints, resume to the same weights, its cell.
    @Test func nb201StandaloneTrainsAndResumes() throws {
        let dir = freshDir("nb201-standalone")
        let arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
        var c = tinyNB201(.standalone, epochs: 2, steps: 4, batch: 32, arch: arch)
        c.evalBatch = 200
        let s = try Standalone.make(c, log: RunLog(directory: dir, quiet: true))
        s.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let r = try s.run(startEpoch: 0)
        #expect(r.epochs.count == 2 && r.epochs.allSatisfy { $0.trainLoss.isFinite } && r.validation >= 0 && r.parameters > 0)
        let u = try Standalone.make(c, log: quietLog())
        #expect(try u.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        _ = try u.run(startEpoch: 1)
        #expect(u.namedWeights().map { $0.1.array } == s.namedWeights().map { $0.1.array })
        let (g, id, _) = try CheckpointGenotype.load(dir + "/epoch-0002.nsasckpt")
        #expect(g.canonical == arch && id == .nb201)
    }

    @Test func badSettingsAreOneLineErrors() throws {
        var c = tinyCNN(epochs: 1, steps: 1)
        c.batch = 1
        #expect(throws: RunError.self) { try c.validate() }
        c = tinyCNN(epochs: 1, steps: 1); c.optimizer.lr = .nan
        do { try c.validate(); Issue.record("no error") } catch { #expect("\(error)".contains("--lr")) }
        var o = DARTSCNNOptions(); o.layers = 2
        c = tinyCNN(epochs: 1, steps: 1); c.network = try JSONValue(encoding: o)
        do { try c.validate(); Issue.record("no error") } catch { #expect("\(error)".contains("--layers")) }
        c = tinyRNN(.wpl); c.wpl?.stepsPerPath = 0
        #expect(throws: RunError.self) { try c.validate() }
        #expect(throws: RunError.self) { try RunLog(directory: "/proc/nsas-cannot-write") }
    }

    @Test func divergenceIsAnErrorNotACrash() throws {
        var c = tinyCNN(epochs: 1, steps: 8, batch: 32)
        c.optimizer.lr = 1e9; c.optimizer.clip = 1e30
        let s = try Search.make(c, log: quietLog())
        do { _ = try s.trainEpoch(0) } catch let e as RunError {
            if case .diverged = e { } else { Issue.record("unexpected \(e)") }
            return
        }
        // Batch norm can keep a huge learning rate finite for a few steps; then the weights must be finite too.
        #expect(weights(s).allSatisfy { $0.allSatisfy(\.isFinite) })
    }
}
