import Foundation
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor
import NSASTrain
import Testing

/// A small corpus with structure (a tiny grammar), written by the test into a PTB-style folder:
/// the real PTB is not in the repository.
func tinyCorpus() throws -> Corpus { try Corpus.load(tinyCorpusFolder) }

let tinyCorpusFolder: String = {
    let d = NSTemporaryDirectory() + "nsas-tiny-ptb-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    var rng = RNG(seed: 11)
    let subjects = ["the cat", "a dog", "the bird", "my friend"], verbs = ["sees", "likes", "finds"], objects = ["the ball", "a tree", "the house", "some food"]
    func text(_ lines: Int) -> String {
        (0..<lines).map { _ in
            "\(subjects[rng.int(below: 4)]) \(verbs[rng.int(below: 3)]) \(objects[rng.int(below: 4)])"
        }.joined(separator: "\n") + "\n"
    }
    for (f, n) in zip(Corpus.fileNames, [400, 60, 60]) { try! Data(text(n).utf8).write(to: URL(fileURLWithPath: d + "/" + f)) }
    return d
}()

func tinyRNN(_ method: Method = .randomnas, epochs: Int = 2) -> RNNTrainConfig {
    var c = RNNTrainConfig()
    c.method = method; c.epochs = epochs; c.hidden = 12; c.nodes = 4; c.batch = 8; c.bptt = 6; c.evalBatch = 4
    c.lr = 10; c.maxSteps = 12; c.searchSamples = 4; c.searchBatches = 2; c.searchTop = 2; c.archiveSize = 2; c.recentSize = 4
    c.dropout = 0.1; c.dropoutH = 0.1; c.dropoutX = 0.1; c.dropoutI = 0.1
    c.data = tinyCorpusFolder
    return c
}

final class RNGBox: @unchecked Sendable { var rng = RNG(seed: 99); static let shared = RNGBox() }

@Suite struct RNNSearchTests {
    static let corpus = try! tinyCorpus()

    func weights(_ t: RNNSearchTrainer) -> [[Float]] { t.network.named().map { $0.1.array } }

    @Test func shortSearchLearnsCheckpointsAndSelects() throws {
        let dir = NSTemporaryDirectory() + "nsas-rnn-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let t = try RNNSearchTrainer(config: tinyRNN(epochs: 3), corpus: Self.corpus, log: RunLog(directory: dir, quiet: true))
        t.directory = dir
        let probe = try RecurrentGenotype(parsing: "rnn:tanh~0|relu~1|sigmoid~1|identity~2")
        let before = try t.perplexity(probe)
        let r = try t.run()
        let after = try t.perplexity(probe)
        #expect(after < before * 0.8, "perplexity \(before) -> \(after)")
        #expect(r.perplexity.isFinite && r.genotype.nodes == 4)
        let files = try RunDirectory.files(dir)
        #expect(files.count == 3)
        let f = try CheckpointFile(files[2])
        try f.verify()
        #expect(RNNSearchTrainer.isRNN(f) && !f.has("archive"))
        #expect(String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").count == 12)
        #expect(try CheckpointGenotype.loadAny(files[2]).genotype == .rnn(r.genotype))
        // Ranking by perplexity with the inherited weights, lowest first.
        let ranker = try RNNInheritedRanker(checkpoint: files[2], corpus: Self.corpus)
        var rng = RNG(seed: 2)
        let archs = (0..<4).map { _ in RecurrentGenotype.sample(nodes: 4, &rng) }
        let scores = try ranker.score(archs, valBatches: 2)
        #expect(scores.allSatisfy { $0.perplexity > 1 && abs(log($0.perplexity) - $0.loss) < 1e-3 })
        let table = RankingTable.table(zip(archs, scores).map { ($0.canonical, $1.perplexity, $1.loss, nil) }, score: "perplexity")
        #expect(table.header == ["arch", "perplexity", "loss", "rank"])
        let ppl = table.rows.map { Float($0[1])! }
        #expect(ppl == ppl.sorted())
    }

    @Test(arguments: [Method.randomnas, Method.nsas, Method.wpl])
    func resumedEqualsUninterrupted(_ method: Method) throws {
        let dir = NSTemporaryDirectory() + "nsas-rnn-resume-\(method.rawValue)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let a = try RNNSearchTrainer(config: tinyRNN(method), corpus: Self.corpus, log: RunLog(directory: nil, quiet: true))
        a.directory = dir
        _ = try a.run()
        let b = try RNNSearchTrainer(config: tinyRNN(method), corpus: Self.corpus, log: RunLog(directory: nil, quiet: true))
        #expect(try b.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        _ = try b.run(startEpoch: 1)
        #expect(weights(a) == weights(b))
        if method == .nsas {
            let archive = try CheckpointFile(dir + "/epoch-0002.nsasckpt").json("archive", as: ConstraintArchive<RecurrentGenotype>.self)
            #expect(archive.members.count == 2)
        }
    }

    @Test(arguments: [Method.gdas, Method.gdasNSAS])
    func gdasSearchesResumesAndReplays(_ method: Method) throws {
        let dir = NSTemporaryDirectory() + "nsas-rnn-gdas-\(method.rawValue)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        var c = tinyRNN(method)
        c.maxSteps = 6
        let a = try RNNGDASTrainer(config: c, corpus: Self.corpus, log: RunLog(directory: dir, quiet: true))
        a.directory = dir
        #expect(a.tau(epoch: 0) == 10 && abs(a.tau(epoch: 1) - 0.1) < 1e-6)
        let alpha0 = a.alpha.array
        let r = try a.run()
        #expect(a.alpha.array != alpha0)                    // Adam moved the logits
        #expect(r.perplexity.isFinite && r.genotype.nodes == 4)
        #expect(alpha0.count == 10 * 5)                     // 1 + 2 + 3 + 4 edges, 5 ops
        let f = try CheckpointFile(dir + "/epoch-0002.nsasckpt")
        #expect(String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").allSatisfy { $0.hasPrefix("all-edges rnn:") })
        #expect(try CheckpointGenotype.loadAny(dir + "/epoch-0002.nsasckpt").genotype == .rnn(r.genotype))
        if method == .gdasNSAS {
            #expect(try f.json("archive", as: ConstraintArchive<GDASArchitecture>.self).members.count == 2)
        }
        // Resume from epoch 1 equals the uninterrupted run; replay from the seed matches every checkpoint.
        let b = try RNNGDASTrainer(config: c, corpus: Self.corpus, log: RunLog(directory: nil, quiet: true))
        #expect(try b.restore(from: dir + "/epoch-0001.nsasckpt") == 1)
        _ = try b.run(startEpoch: 1)
        #expect(b.network.named().map { $0.1.array } == a.network.named().map { $0.1.array } && b.alpha.array == a.alpha.array)
    }

    @Test func replayMatchesAndFindsTampering() throws {
        let dir = NSTemporaryDirectory() + "nsas-rnn-replay-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let t = try RNNSearchTrainer(config: tinyRNN(.nsas), corpus: Self.corpus, log: RunLog(directory: nil, quiet: true))
        t.directory = dir
        _ = try t.run()
        let (reports, divergence) = try Replay(directory: dir, log: RunLog(directory: nil, quiet: true)).run(from: 0, to: nil)
        #expect(divergence == nil && reports.count == 2 && reports.allSatisfy { $0.pathsMatch && $0.maxWeightDifference == 0 })
        // Tamper with a recorded path of epoch 2: replay names the epoch and step.
        let path = dir + "/epoch-0002.nsasckpt"
        let f = try CheckpointFile(path)
        var paths = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
        paths[2] = RecurrentGenotype.sample(nodes: 4, &RNGBox.shared.rng).canonical
        let sections = try f.entries.map { e in
            CheckpointWriter.Section(e.name, e.name == "paths" ? Array(paths.joined(separator: "\n").utf8) : try f.read(e.name), codec: e.codec)
        }
        try CheckpointWriter.write(sections, to: path)
        let (_, d) = try Replay(directory: dir, log: RunLog(directory: nil, quiet: true)).run(from: 1, to: nil)
        #expect(d?.epoch == 2 && d?.step == 3)
    }

    @Test func standaloneSwitchesToAveragedSGD() throws {
        var c = tinyRNN(.standalone, epochs: 3)
        c.genotype = RecurrentGenotype.dartsV2.description
        c.nodes = 8; c.nonmono = 1; c.lr = 40
        let g = RecurrentGenotype.dartsV2
        var lines: [String] = []
        let r = try RNNStandaloneTrainer(genotype: g, config: c, corpus: Self.corpus, log: RunLog(directory: nil, out: { lines.append($0) })).run()
        #expect(r.valid.isFinite && r.test.isFinite && r.valid > 1)
        #expect(r.epochs.count == 3)
        _ = lines
    }

    @Test func configErrors() {
        var c = tinyRNN(.wpl)
        c.wplStepsPerPath = 0
        #expect(throws: TrainError.self) { try c.validate() }
        #expect(throws: TrainError.self) { try RNNGDASTrainer(config: tinyRNN(.nsas), corpus: Self.corpus, log: RunLog(directory: nil, quiet: true)) }
        c = tinyRNN(.standalone)
        #expect(throws: TrainError.self) { try c.validate() }
        c = tinyRNN(); c.dropout = 1
        #expect(throws: (any Error).self) { try c.validate() }
        let old = #"{"space":"rnn","method":"nsas","epochs":3}"#
        let d = try? JSONDecoder().decode(RNNTrainConfig.self, from: Data(old.utf8))
        #expect(d?.epochs == 3 && d?.method == .nsas && d?.bptt == 35)
    }
}
