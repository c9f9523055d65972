import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor
import NSASTrain
import Testing

@Suite struct RankingTests {
    @Test func shardedPlusMergedEqualsUnsharded() throws {
        let dir = freshDir("rank")
        let t = try Search.make(tinyCNN(epochs: 2, steps: 2), log: quietLog())
        t.checkpointer = RunCheckpointer(directory: dir)
        _ = try t.run(startEpoch: 0)
        let archs = try Ranking.sample(space: .dartsCNN, count: 7, seed: 4, allowNone: false)
        func rows(_ list: [String]) throws -> [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] {
            var out: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] = []
            for e in 1...2 {
                let r = try Ranking.open(checkpoint: dir + "/" + RunCheckpointer.fileName(epoch: e), evalBatch: 200, data: embedded)
                for s in try r.score(list, valBatches: 1, bnRecalibrate: 0, progress: { _ in }) { out.append((s.arch, s.score.value, s.score.loss, e)) }
            }
            return out
        }
        let whole = RankingTable.table(try rows(archs))
        let parts = try (0..<3).map { i in (RankingTable.table(try rows(RankingTable.shard(archs, index: i, of: 3))), "part-\(i)") }
        #expect(try RankingTable.merge(parts) == whole)
        #expect(whole.header == ["arch", "accuracy", "loss", "rank", "epoch"] && whole.rows.count == 14)
        #expect(Set(parts.flatMap { $0.0.rows.map { $0[0] } }) == Set(archs))
        let epoch1 = whole.rows.filter { $0[4] == "1" }
        #expect(epoch1.map { $0[3] } == (1...7).map(String.init))
        #expect(zip(epoch1, epoch1.dropFirst()).allSatisfy { Float($0[1])! >= Float($1[1])! })
    }

    @Test func bnRecalibrationIsPerArchitectureAndOrderFree() throws {
        let dir = freshDir("rank-bn")
        let t = try Search.make(tinyCNN(epochs: 1, steps: 3), log: quietLog())
        t.checkpointer = RunCheckpointer(directory: dir)
        _ = try t.run(startEpoch: 0)
        let archs = try Ranking.sample(space: .dartsCNN, count: 3, seed: 9, allowNone: false)
        let file = dir + "/" + RunCheckpointer.fileName(epoch: 1)
        let r = try Ranking.open(checkpoint: file, evalBatch: 100, data: embedded)
        let plain = try r.score(archs, valBatches: 1, bnRecalibrate: 0, progress: { _ in })
        let recal = try r.score(archs, valBatches: 1, bnRecalibrate: 2, progress: { _ in })
        let r2 = try Ranking.open(checkpoint: file, evalBatch: 100, data: embedded)
        let reversed = try r2.score(archs.reversed(), valBatches: 1, bnRecalibrate: 2, progress: { _ in })
        #expect(recal.map(\.score.loss) == reversed.reversed().map(\.score.loss))
        #expect(recal.map(\.score.loss) != plain.map(\.score.loss))
        do { _ = try r.score(archs, valBatches: 1, bnRecalibrate: 100_000, progress: { _ in }); Issue.record("no error") } catch {
            #expect("\(error)".contains("--bn-recalibrate"))
        }
    }

    @Test func rnnCheckpointsRankByPerplexityLowestFirst() throws {
        let dir = freshDir("rank-rnn")
        let s = try Search.make(tinyRNN(epochs: 1), log: quietLog())
        s.checkpointer = RunCheckpointer(directory: dir)
        _ = try s.run(startEpoch: 0)
        let archs = try Ranking.sample(space: .dartsRNN, options: tinyRNN().network, count: 4, seed: 2, allowNone: false)
        let r = try Ranking.open(checkpoint: dir + "/epoch-0001.nsasckpt")
        #expect(r.score == .perplexity && r.space == .dartsRNN && r.epoch == 1)
        let scores = try r.score(archs, valBatches: 2, bnRecalibrate: 0, progress: { _ in })
        #expect(scores.allSatisfy { $0.score.value > 1 && abs(log($0.score.value) - $0.score.loss) < 1e-3 })
        let table = RankingTable.table(scores.map { ($0.arch, $0.score.value, $0.score.loss, nil) }, score: "perplexity")
        let ppl = table.rows.map { Float($0[1])! }
        #expect(table.header == ["arch", "perplexity", "loss", "rank"] && ppl == ppl.sorted())
        #expect(throws: (any Error).self) { try r.score(archs, valBatches: 1, bnRecalibrate: 2, progress: { _ in }) }
    }
}

@Suite struct GroundTruthTests {
    @Test func truthTableResumesWithoutRetraining() throws {
        let dir = freshDir("truth")
        var c = tinyCNN(.standalone, epochs: 1, steps: 2)
        var o = try c.network.decode(DARTSCNNOptions.self)
        o.auxiliaryWeight = 0
        c.network = try JSONValue(encoding: o)
        let log = quietLog()
        let first = try GroundTruth.run([NamedGenotypes.dartsV2.description], config: c, directory: dir, log: log)
        #expect(first.rows.count == 1 && first.header == GroundTruth.header(.accuracy))
        #expect(try RunDirectory.files(dir + "/archs/0001").count == 1)
        let written = try String(contentsOfFile: dir + "/truth.csv", encoding: .utf8)
        let second = try GroundTruth.run([NamedGenotypes.dartsV2, NamedGenotypes.nsas].map(\.description), config: c, directory: dir, log: log)
        #expect(second.rows.count == 2 && second.rows[0] == first.rows[0])
        #expect(try String(contentsOfFile: dir + "/truth.csv", encoding: .utf8).hasPrefix(written))
        #expect(second.rows.map { $0[0] } == [NamedGenotypes.dartsV2.canonical, NamedGenotypes.nsas.canonical])
        let flops = second.rows.map { Int($0[4])! }
        #expect(flops.allSatisfy { $0 > 0 } && flops[0] != flops[1])
    }

    @Test func aFolderTrainedWithOtherOptionsIsRefused() throws {
        let dir = freshDir("truth-mixed")
        var one = tinyCNN(.standalone, epochs: 1, steps: 2)
        let first = try Standalone.make(one, log: quietLog())
        first.checkpointer = RunCheckpointer(directory: dir + "/archs/0001")
        _ = try first.run(startEpoch: 0)
        one.epochs = 2
        do { _ = try GroundTruth.run([NamedGenotypes.dartsV2.description], config: one, directory: dir, log: quietLog()); Issue.record("no error") } catch {
            #expect("\(error)".contains("other options"))
        }
    }
}

@Suite struct TrackTests {
    @Test(arguments: [Method.randomnas, .gdas])
    func trackedArchitecturesAreScoredEveryEpochWithoutChangingTraining(_ method: Method) throws {
        let dir = freshDir("track-\(method.rawValue)")
        let c = tinyCNN(method, epochs: 2, steps: 2)
        let t = try Search.make(c, log: quietLog())
        t.checkpointer = RunCheckpointer(directory: dir)
        try t.track([NamedGenotypes.dartsV2, NamedGenotypes.nsas].map(\.description))
        let r = try t.run(startEpoch: 0)
        #expect(r.epochs.allSatisfy { $0.tracked?.map(\.arch) == [NamedGenotypes.dartsV2.canonical, NamedGenotypes.nsas.canonical] })
        let m = try CheckpointFile(dir + "/epoch-0002.nsasckpt").json("metrics", as: EpochMetrics.self)
        #expect(m.tracked == r.epochs[1].tracked && m.tracked?.allSatisfy { $0.accuracy != nil } == true)
        let u = try Search.make(c, log: quietLog())
        _ = try u.run(startEpoch: 0)
        #expect(weights(u) == weights(t))
    }

    @Test func rnnSearchesTrackByPerplexity() throws {
        let t = try Search.make(tinyRNN(.nsas), log: quietLog())
        try t.track(["rnn:tanh~0|relu~1|sigmoid~1|identity~2"])
        let r = try t.run(startEpoch: 0)
        #expect(r.epochs.allSatisfy { $0.tracked?.first?.perplexity.map { $0 > 1 } == true })
        #expect(throws: (any Error).self) { try t.track(["not a genotype"]) }
    }
}

@Suite struct RNNTests {
    @Test func shortSearchLearnsAndSelects() throws {
        let s = try Search.make(tinyRNN(epochs: 3), log: quietLog())
        let space = s.spaceObject as! DARTSRNNSpace
        let probe = try RecurrentGenotype(parsing: "rnn:tanh~0|relu~1|sigmoid~1|identity~2")
        let before = try space.score(probe, batches: nil).value
        let r = try s.run(startEpoch: 0)
        #expect(try space.score(probe, batches: nil).value < before * 0.8)
        #expect(try r.value.isFinite && RecurrentGenotype(parsing: r.genotype).nodes == 4)
        #expect(r.epochs.allSatisfy { $0.trainPerplexity != nil && $0.unit == "tokens" })
    }

    @Test func standaloneSwitchesToAveragedSGDAndResumes() throws {
        let dir = freshDir("rnn-standalone")
        var c = tinyRNN(.standalone, epochs: 3, steps: 8)
        c.standalone?.genotype = "rnn:tanh~0|relu~1|sigmoid~1|identity~2"
        var o = try c.network.decode(DARTSRNNOptions.self)
        o.nonmono = 1
        c.network = try JSONValue(encoding: o); c.optimizer.lr = 40
        var lines: [String] = []
        let s = try Standalone.make(c, log: RunLog(directory: nil, out: { lines.append($0) }))
        s.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let r = try s.run(startEpoch: 0)
        #expect(r.validation.isFinite && r.test.isFinite && r.validation > 1 && r.epochs.count == 3)
        let u = try Standalone.make(c, log: quietLog())
        #expect(try u.restore(from: dir + "/epoch-0002.nsasckpt") == 2)
        let r2 = try u.run(startEpoch: 2)
        #expect(r2.validation == r.validation && r2.test == r.test)
        #expect(u.namedWeights().map { $0.1.array } == s.namedWeights().map { $0.1.array })
        // Replay from the seed reproduces every epoch, the switch to averaged SGD included.
        let (reports, divergence) = try Replay(directory: dir, log: quietLog()).run(from: 0, to: nil)
        #expect(divergence == nil && reports.count == 3)
    }
}
