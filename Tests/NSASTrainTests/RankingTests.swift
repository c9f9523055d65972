import Foundation
import NSASAnalysis
import NSASSearchSpace
import NSASTensor
import NSASTrain
import Testing

@Suite struct RankingTests {
    @Test func shardedPlusMergedEqualsUnsharded() throws {
        let dir = NSTemporaryDirectory() + "nsas-rank-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let t = try RandomNASTrainer(config: tinySearch(epochs: 2, steps: 2), data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir)
        _ = try t.run()
        var rng = RNG(seed: 4)
        let archs = (0..<7).map { _ in ArchitectureSampler().sample(&rng) }
        func rows(_ list: [Genotype]) throws -> [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] {
            var out: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] = []
            for e in 1...2 {
                let r = try InheritedRanker(checkpoint: dir + "/" + RunCheckpointer.fileName(epoch: e), data: TrainTests.data)
                for (g, s) in zip(list, try r.score(list, valBatches: 1, batchSize: 200)) { out.append((g.canonical, s.accuracy, s.loss, e)) }
            }
            return out
        }
        let whole = RankingTable.table(try rows(archs))
        let parts = try (0..<3).map { i in (RankingTable.table(try rows(RankingTable.shard(archs, index: i, of: 3))), "part-\(i)") }
        #expect(try RankingTable.merge(parts) == whole)
        #expect(whole.header == ["arch", "accuracy", "loss", "rank", "epoch"] && whole.rows.count == 14)
        #expect(Set(parts.flatMap { $0.0.rows.map { $0[0] } }) == Set(archs.map(\.canonical)))
        // Ranks run 1...7 within each epoch, best accuracy first.
        let epoch1 = whole.rows.filter { $0[4] == "1" }
        #expect(epoch1.map { $0[3] } == (1...7).map(String.init))
        #expect(zip(epoch1, epoch1.dropFirst()).allSatisfy { Float($0[1])! >= Float($1[1])! })
    }

    @Test func bnRecalibrationIsPerArchitectureAndOrderFree() throws {
        let dir = NSTemporaryDirectory() + "nsas-rank-bn-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let t = try RandomNASTrainer(config: tinySearch(epochs: 1, steps: 3), data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir)
        _ = try t.run()
        var rng = RNG(seed: 9)
        let archs = (0..<3).map { _ in ArchitectureSampler().sample(&rng) }
        let file = dir + "/" + RunCheckpointer.fileName(epoch: 1)
        let r = try InheritedRanker(checkpoint: file, data: TrainTests.data)
        let plain = try r.score(archs, valBatches: 1, batchSize: 100)
        let recal = try r.score(archs, valBatches: 1, batchSize: 100, bnRecalibrate: 2)
        // A fresh ranker, the other order: every architecture recalibrates its own path, so the
        // scores do not depend on what was ranked before.
        let r2 = try InheritedRanker(checkpoint: file, data: TrainTests.data)
        let reversed = try r2.score(archs.reversed(), valBatches: 1, batchSize: 100, bnRecalibrate: 2)
        #expect(recal.map(\.loss) == reversed.reversed().map(\.loss))
        #expect(recal.map(\.loss) != plain.map(\.loss))
        do { _ = try r.score(archs, valBatches: 1, batchSize: 100, bnRecalibrate: 100_000); Issue.record("no error") } catch {
            #expect("\(error)".contains("--bn-recalibrate"))
        }
    }

    @Test func olderCheckpointOptionsDecodeWithDefaults() throws {
        let old = #"{"method":"randomnas","data":"default","epochs":3,"layers":5,"channels":8,"batch":64,"seed":7}"#
        let c = try JSONDecoder().decode(TrainConfig.self, from: Data(old.utf8))
        #expect(c.epochs == 3 && c.seed == 7 && c.archiveSize == TrainConfig().archiveSize && c.nsasMode == .loss)
    }
}

@Suite struct GroundTruthTests {
    @Test func truthTableResumesWithoutRetraining() throws {
        let dir = NSTemporaryDirectory() + "nsas-truth-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var c = tinySearch(epochs: 1, steps: 2)
        c.method = .standalone; c.auxiliaryWeight = 0
        let log = try RunLog(directory: nil, quiet: true)
        let first = try GroundTruth.run([NamedGenotypes.dartsV2], config: c, data: TrainTests.data, directory: dir, log: log)
        #expect(first.rows.count == 1 && first.header == GroundTruth.header)
        let written = try String(contentsOfFile: dir + "/truth.csv", encoding: .utf8)
        // A rerun with one more architecture trains only the new one; the first row stays as it was.
        let second = try GroundTruth.run([NamedGenotypes.dartsV2, NamedGenotypes.nsas], config: c, data: TrainTests.data, directory: dir, log: log)
        #expect(second.rows.count == 2 && second.rows[0] == first.rows[0])
        #expect(try String(contentsOfFile: dir + "/truth.csv", encoding: .utf8).hasPrefix(written))
        #expect(second.rows.map { $0[0] } == [NamedGenotypes.dartsV2.canonical, NamedGenotypes.nsas.canonical])
        #expect(second.rows.allSatisfy { Float($0[1]).map { (0...1).contains($0) } == true })
        // FLOPs (multiply-adds of one image): positive, and the NSAS cell with its none edges is cheaper here.
        let flops = second.rows.map { Int($0[4])! }
        #expect(flops.allSatisfy { $0 > 0 } && flops[0] != flops[1])
        #expect(flops[0] == (try GroundTruth.flops(NamedGenotypes.dartsV2, config: c, data: TrainTests.data)))
        // A truth.csv written before the flops column gains it without retraining.
        var old = second
        old.header.remove(at: 4); for i in old.rows.indices { old.rows[i].remove(at: 4) }
        try Data(old.text.utf8).write(to: URL(fileURLWithPath: dir + "/truth.csv"))
        let third = try GroundTruth.run([NamedGenotypes.dartsV2, NamedGenotypes.nsas], config: c, data: TrainTests.data, directory: dir, log: log)
        #expect(third == second)
    }
}

@Suite struct TrackTests {
    @Test func trackedArchitecturesAreScoredEveryEpochIntoTheCheckpoint() throws {
        let dir = NSTemporaryDirectory() + "nsas-track-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let t = try RandomNASTrainer(config: tinySearch(epochs: 2, steps: 2), data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir)
        t.tracked = [NamedGenotypes.dartsV2, NamedGenotypes.nsas]
        let r = try t.run()
        #expect(r.epochs.allSatisfy { $0.tracked?.map(\.arch) == [NamedGenotypes.dartsV2.canonical, NamedGenotypes.nsas.canonical] })
        let m = try NSASCheckpoint.CheckpointFile(dir + "/epoch-0002.nsasckpt").json("metrics", as: EpochMetrics.self)
        #expect(m.tracked == r.epochs[1].tracked)
        #expect(try trackedArchitectures(inCheckpoint: dir + "/epoch-0002.nsasckpt") == t.tracked)
    }

    @Test func gdasTracksToo() throws {
        let dir = NSTemporaryDirectory() + "nsas-track-gdas-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        var c = tinySearch(epochs: 1, steps: 2)
        c.method = .gdas
        let t = try GDASTrainer(config: c, data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        t.checkpointer = RunCheckpointer(directory: dir)
        t.tracked = [NamedGenotypes.dartsV2]
        let r = try t.run()
        let m = try NSASCheckpoint.CheckpointFile(dir + "/epoch-0001.nsasckpt").json("metrics", as: EpochMetrics.self)
        #expect(m.tracked?.map(\.arch) == [NamedGenotypes.dartsV2.canonical] && m.tracked == r.epochs[0].tracked)
        // Tracking uses its own generator: the trained weights equal an untracked run's.
        let u = try GDASTrainer(config: c, data: TrainTests.data, log: RunLog(directory: nil, quiet: true))
        _ = try u.run()
        #expect(zip(u.supernet.named(), t.supernet.named()).allSatisfy { $0.1.array == $1.1.array })
    }
}

import NSASCheckpoint
