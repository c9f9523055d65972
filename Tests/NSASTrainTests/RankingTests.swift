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
    }
}

import NSASCheckpoint
