import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor
import NSASTrain
import Testing

/// A search small enough for a debug build: 3 cells of C=4, a few steps an epoch.
func tinySearch(epochs: Int, steps: Int, batch: Int = 16) -> TrainConfig {
    var c = TrainConfig()
    c.layers = 3; c.channels = 4; c.batch = batch; c.epochs = epochs; c.maxSteps = steps
    c.searchSamples = 1; c.searchTop = 1; c.evalBatch = 1000
    return c
}

@Suite struct RunCheckpointTests {
    @Test func everyEpochWritesAVerifiedCheckpoint() throws {
        let dir = NSTemporaryDirectory() + "nsas-run-ckpt-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let c = tinySearch(epochs: 2, steps: 4, batch: 32)
        let trainer = try RandomNASTrainer(config: c, data: DataSource.load("default"), log: RunLog(directory: dir, quiet: true))
        trainer.checkpointer = RunCheckpointer(directory: dir)
        let result = try trainer.run()

        let files = try RunDirectory.files(dir)
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["epoch-0001.nsasckpt", "epoch-0002.nsasckpt"])
        #expect(try RunDirectory.latest(dir) == files[1])
        let first = try CheckpointFile(files[0]), last = try CheckpointFile(files[1])
        try first.verify(); try last.verify()
        // Optimizer state only in the newest checkpoint.
        #expect(!first.has("optimizer") && last.has("optimizer"))
        // The sampled path of every step, parseable.
        let paths = String(decoding: try last.read("paths"), as: UTF8.self).split(separator: "\n")
        #expect(paths.count == 4)
        #expect(paths.allSatisfy { (try? Genotype(parsing: String($0))) != nil })
        // Every named tensor of the supernet, with its values.
        let weights = try last.tensors("weights")
        let named = trainer.supernet.named()
        #expect(weights.map(\.name) == named.map(\.0))
        #expect(weights[0].values == named[0].1.array && weights[0].shape == named[0].1.shape)
        #expect(try last.tensors("optimizer").allSatisfy { $0.name.hasPrefix("momentum.") })
        // No temporary files left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }.isEmpty)
        // nsas-draw --from: the final checkpoint stands for the selected genotype; an earlier one for none.
        let (g, how) = try CheckpointGenotype.load(files[1])
        #expect(g == result.genotype && how.contains("selected"))
        do { _ = try CheckpointGenotype.load(files[0]); Issue.record("no error") } catch {
            #expect("\(error)".contains("nsas-rank") && "\(error)".contains(files[0]))
        }
    }
}

@Suite struct ResumeTests {
    @Test func resumedRunEqualsUninterruptedRun() throws {
        let dir = NSTemporaryDirectory() + "nsas-resume-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let c = tinySearch(epochs: 3, steps: 3)
        let data = try DataSource.load("default")
        // Uninterrupted, keeping every epoch's optimizer state.
        let a = try RandomNASTrainer(config: c, data: data, log: RunLog(directory: nil, quiet: true))
        a.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let ra = try a.run()
        // A new process would do this: restore epoch 1 and go on.
        let b = try RandomNASTrainer(config: c, data: data, log: RunLog(directory: nil, quiet: true))
        #expect(try b.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        let rb = try b.run(startEpoch: 1)
        #expect(rb.epochs.map(\.epoch) == [2, 3])
        #expect(rb.epochs.map(\.trainLoss) == ra.epochs.suffix(2).map(\.trainLoss))
        let wa = a.supernet.named(), wb = b.supernet.named()
        #expect(zip(wa, wb).allSatisfy { $0.1.array == $1.1.array }, "weights differ after resuming")
        #expect(ra.genotype == rb.genotype)
        // A checkpoint without optimizer state cannot be resumed from, and says so.
        let dropped = dir + "-dropped"
        try? FileManager.default.removeItem(atPath: dropped)
        let d = try RandomNASTrainer(config: c, data: data, log: RunLog(directory: nil, quiet: true))
        d.checkpointer = RunCheckpointer(directory: dropped)
        _ = try d.run()
        do { _ = try b.restore(from: dropped + "/epoch-0001.nsasckpt"); Issue.record("no error") } catch {
            #expect("\(error)".contains("optimizer"))
        }
    }
}

@Suite struct ReplayTests {
    @Test func replayReproducesAndFindsTheFirstDivergence() throws {
        let dir = NSTemporaryDirectory() + "nsas-replay-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let c = tinySearch(epochs: 2, steps: 3)
        let t = try RandomNASTrainer(config: c, data: DataSource.load("default"), log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        _ = try t.run()
        let log = try RunLog(directory: nil, quiet: true)
        let (ok, none) = try Replay(directory: dir, log: log).run(from: 0, to: nil)
        #expect(none == nil && ok.count == 2 && ok.allSatisfy { $0.pathsMatch && $0.maxWeightDifference == 0 })
        let (fromOne, none1) = try Replay(directory: dir, log: log).run(from: 1, to: 2)
        #expect(none1 == nil && fromOne.map(\.epoch) == [2])

        // Tamper with the second step's path of epoch 2: replay reports exactly that step.
        let path = dir + "/epoch-0002.nsasckpt"
        let f = try CheckpointFile(path)
        var lines = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
        lines[1] = NamedGenotypes.dartsV2.canonical
        let sections = try f.entries.map { e in
            CheckpointWriter.Section(e.name, e.name == "paths" ? Array(lines.joined(separator: "\n").utf8) : try f.read(e.name), codec: e.codec)
        }
        try CheckpointWriter.write(sections, to: path)
        let (_, divergence) = try Replay(directory: dir, log: log).run(from: 0, to: nil)
        #expect(divergence?.epoch == 2 && divergence?.step == 2)
        #expect(throws: TrainError.self) { try Replay(directory: dir, log: log).run(from: 5, to: nil) }
    }
}
