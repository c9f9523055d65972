import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import NSASTrain
import Testing

/// Every method in every space through the one engine: a checkpoint every epoch, resume from
/// epoch 1 identical to the uninterrupted run, replay from the seed and from epoch 1.
@Suite struct EngineMatrixTests {
    static let cases: [(String, Method)] = [Method.randomnas, .nsas, .gdas, .gdasNSAS, .wpl].flatMap { [("cnn", $0), ("rnn", $0), ("nb201", $0)] }

    func config(_ space: String, _ m: Method) -> RunConfig {
        space == "cnn" ? tinyCNN(m, epochs: 2, steps: 3) : space == "nb201" ? tinyNB201(m, epochs: 2, steps: 3) : tinyRNN(m, epochs: 2, steps: 5)
    }

    @Test(arguments: cases)
    func checkpointsResumesAndReplays(_ space: String, _ method: Method) throws {
        let dir = freshDir("matrix-\(space)-\(method.rawValue)")
        let c = config(space, method)
        let a = try Search.make(c, log: quietLog())
        a.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        let ra = try a.run(startEpoch: 0)
        #expect(ra.epochs.count == 2 && ra.epochs.allSatisfy { $0.trainLoss.isFinite })
        let files = try RunDirectory.files(dir)
        #expect(files.count == 2)
        for f in files { try CheckpointFile(f).verify() }
        _ = try CheckpointFile(files[0])   // still opens
        let last = try CheckpointFile(files[1])
        let saved = try RunSchema.config(last)
        #expect(saved.run == c && saved.tool == nsasVersion)
        #expect(last.has("archive") == method.usesNSAS && last.has("arch") == method.usesGDAS && last.has("wpl") == (method == .wpl))
        #expect(String(decoding: try last.read("paths"), as: UTF8.self).split(separator: "\n").count == c.maxSteps)
        // Resume from epoch 1 in a new search: the same weights, bit for bit, and the same choice.
        let b = try Search.make(c, log: quietLog())
        #expect(try b.restore(from: files[0]) == 1)
        let rb = try b.run(startEpoch: 1)
        #expect(weights(a) == weights(b))
        #expect(rb.epochs.map(\.trainLoss) == [ra.epochs[1].trainLoss] && rb.canonical == ra.canonical)
        // Replay from the seed and from epoch 1 reproduces every recorded path and weight.
        let (all, none) = try Replay(directory: dir, log: quietLog()).run(from: 0, to: nil)
        #expect(none == nil && all.count == 2 && all.allSatisfy { $0.pathsMatch && $0.maxWeightDifference == 0 })
        let (one, none1) = try Replay(directory: dir, log: quietLog()).run(from: 1, to: nil)
        #expect(none1 == nil && one.map(\.epoch) == [2])
        // The checkpoint alone gives GDAS's argmax genotype.
        if method.usesGDAS {
            let (g, id, how) = try CheckpointGenotype.load(files[1])
            #expect(g.canonical == ra.canonical && id == c.space && how.contains("argmax"))
        }
    }

    @Test func spacesAreRegisteredByID() throws {
        #expect(SpaceRegistry.names == ["darts-cnn", "darts-rnn", "nb201"])
        #expect(try SpaceRegistry.type(named: "nb201") == NB201Space.self)
        #expect(try SpaceRegistry.type(named: "rnn") == DARTSRNNSpace.self)
        #expect(throws: SearchSpaceError.self) { try SpaceRegistry.type(named: "nb999") }
    }

    /// Named random streams: the arms of one seed share initial weights, data order and the
    /// sequence of sampled current architectures, whatever the method draws besides.
    @Test func armsOfOneSeedArePaired() throws {
        let plain = try Search.make(tinyCNN(.randomnas, epochs: 1, steps: 6), log: quietLog())
        let nsas = try Search.make(tinyCNN(.nsas, epochs: 1, steps: 6), log: quietLog())
        #expect(weights(plain) == weights(nsas))
        _ = try plain.trainEpoch(0)
        // Step by step (as nsas-bench nsas interleaves two searches) trains as trainEpoch does.
        let e = try nsas.beginEpoch(0)
        var steps = 0
        while try e.step() { steps += 1 }
        #expect(steps == 6 && e.finish().pathPasses == 14)
        #expect(plain.pathTexts == nsas.pathTexts)
        // Step times for nsas-bench nsas: one a step, with its path passes (the archive of 2 fills
        // during the first 2 steps, then every step runs 1 + 2 paths).
        #expect(plain.stepTimes.map(\.passes) == [1, 1, 1, 1, 1, 1])
        #expect(nsas.stepTimes.map(\.passes) == [1, 1, 3, 3, 3, 3])
        #expect(nsas.stepTimes.allSatisfy { $0.seconds > 0 })
    }

    /// NSAS steps share ops of cells 0 and 1 between their paths (`SharedEdges`), and train the
    /// weights that computing them in every path would, up to the order of float sums. (Two NSAS
    /// steps after the archive of 2 fills: 3e-7 of a tensor's largest value apart. Over more steps
    /// training amplifies any change of summation order, as `--threads 1` against 2 does: about
    /// 1e-3 after 5 steps, 0.1 after 12.)
    @Test func nsasStepsShareOpsWithoutChangingTheWeights() throws {
        let shared = try Search.make(tinyCNN(.nsas, epochs: 1, steps: 4), log: quietLog())
        let unshared = try Search.make(tinyCNN(.nsas, epochs: 1, steps: 4), log: quietLog())
        let space = try #require(shared.spaceObject as? DARTSCNNSpace), off = try #require(unshared.spaceObject as? DARTSCNNSpace)
        off.sharesEdgeOps = false
        _ = try shared.trainEpoch(0); _ = try unshared.trainEpoch(0)
        #expect(space.sharedOpsReused > 0 && off.sharedOpsReused == 0)
        #expect(shared.pathTexts == unshared.pathTexts)
        for ((name, a), (_, b)) in zip(shared.namedWeights(), unshared.namedWeights()) where !name.contains("running") {
            assertClose(a.array, b.array, rtol: 1e-5, atol: 1e-6, name)
        }
    }
}

@Suite struct RunCheckpointTests {
    @Test func optimizerOnlyInTheNewestAndSelectionRecorded() throws {
        let dir = freshDir("run-ckpt")
        let s = try Search.make(tinyCNN(epochs: 3, steps: 4, batch: 32), log: RunLog(directory: dir, quiet: true))
        s.checkpointer = RunCheckpointer(directory: dir)
        let r = try s.run(startEpoch: 0)
        var files = try RunDirectory.files(dir)
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["epoch-0001.nsasckpt", "epoch-0002.nsasckpt", "epoch-0003.nsasckpt"])
        #expect(try RunDirectory.latest(dir) == files[2])
        // Optimizer state in the newest two checkpoints: one damaged file never makes a run unresumable.
        #expect(try files.map { try CheckpointFile($0).has("optimizer") } == [false, true, true])
        files.remove(at: 1)
        _ = try CheckpointFile(files[0])   // still opens
        let last = try CheckpointFile(files[1])
        #expect(try last.tensors("optimizer").allSatisfy { $0.name.hasPrefix("momentum.") })
        let paths = String(decoding: try last.read("paths"), as: UTF8.self).split(separator: "\n")
        #expect(paths.count == 4 && paths.allSatisfy { (try? Genotype(parsing: String($0))) != nil })
        let named = supernet(s).named(), stored = try last.tensors("weights")
        #expect(stored.map(\.name) == named.map(\.0) && stored[0].values == named[0].1.array)
        let streams = try last.json("rng", as: RunSchema.Streams.self).streams
        #expect(Set(streams.keys).isSuperset(of: ["initialization", "sampling", "data"]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }.isEmpty)
        let (g, _, how) = try CheckpointGenotype.load(files[1])
        #expect(g.canonical == r.canonical && how.contains("selected"))
        do { _ = try CheckpointGenotype.load(files[0]); Issue.record("no error") } catch {
            #expect("\(error)".contains("nsas-rank") && "\(error)".contains(files[0]))
        }
        // A checkpoint without optimizer state cannot be resumed from, and says so.
        do { _ = try Search.make(tinyCNN(epochs: 3, steps: 4, batch: 32), log: quietLog()).restore(from: files[0]); Issue.record("no error") } catch {
            #expect("\(error)".contains("optimizer"))
        }
    }

    @Test func formatVersionOneIsRefusedNamingBothVersions() throws {
        let path = freshDir("v1") + ".nsasckpt"
        var bytes = try CheckpointWriter.encode([CheckpointWriter.Section("config", Array("{}".utf8))])
        bytes[8] = 1; bytes[9] = 0; bytes[10] = 0; bytes[11] = 0
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do { _ = try CheckpointFile(path); Issue.record("no error") } catch {
            #expect("\(error)".contains("version 1") && "\(error)".contains("version \(CheckpointFormat.version)"))
        }
    }

    @Test func replayNamesTheFirstTamperedStep() throws {
        let dir = freshDir("replay-tamper")
        let s = try Search.make(tinyRNN(.nsas), log: quietLog())
        s.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        _ = try s.run(startEpoch: 0)
        let path = dir + "/epoch-0002.nsasckpt"
        let f = try CheckpointFile(path)
        var lines = String(decoding: try f.read("paths"), as: UTF8.self).split(separator: "\n").map(String.init)
        lines[2] = lines[2] == "rnn:relu~0|relu~0|relu~0|relu~0" ? "rnn:tanh~0|tanh~0|tanh~0|tanh~0" : "rnn:relu~0|relu~0|relu~0|relu~0"
        let sections = try f.entries.map { e in
            CheckpointWriter.Section(e.name, e.name == "paths" ? Array(lines.joined(separator: "\n").utf8) : try f.read(e.name), codec: e.codec)
        }
        try CheckpointWriter.write(sections, to: path)
        let (_, d) = try Replay(directory: dir, log: quietLog()).run(from: 1, to: nil)
        #expect(d?.epoch == 2 && d?.step == 3)
        #expect(throws: RunError.self) { try Replay(directory: dir, log: quietLog()).run(from: 5, to: nil) }
    }
}

@Suite struct PoisonTests {
    /// A run driven to divergence stops with one error; every checkpoint it left is finite.
    @Test func aDivergingRunNeverWritesANonFiniteCheckpoint() throws {
        let dir = freshDir("poison")
        var c = tinyCNN(epochs: 6, steps: 6, batch: 16)
        c.optimizer.lr = 1e6
        let s = try Search.make(c, log: quietLog())
        s.checkpointer = RunCheckpointer(directory: dir)
        do { _ = try s.run(startEpoch: 0); Issue.record("a learning rate of 1e6 trained six epochs") } catch let e as RunError {
            switch e { case .diverged, .nonFinite: break; default: Issue.record("unexpected \(e)") }
        }
        for f in (try? RunDirectory.files(dir)) ?? [] {
            for name in ["weights", "optimizer"] where try CheckpointFile(f).has(name) {
                #expect(try CheckpointFile(f).tensors(name).allSatisfy { $0.values.allSatisfy(\.isFinite) }, "\(f) \(name)")
            }
        }
    }

    @Test(.enabled(if: nsasTrainBinary != nil, "needs nsas-ckpt beside the test bundle"))
    func verifyReportsNonFiniteTensors() throws {
        let path = freshDir("nan") + ".nsasckpt"
        let t = [StoredTensor(name: "w", shape: [3], values: [1, .nan, 2])]
        try CheckpointWriter.write([CheckpointWriter.Section("weights", TensorCodec.encode(t), codec: .zstdShuffle4)], to: path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: (nsasTrainBinary! as NSString).deletingLastPathComponent + "/nsas-ckpt")
        p.arguments = ["verify", path]
        let out = Pipe()
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0 && p.terminationStatus < 128 && text.contains("non-finite"), "\(text)")
    }
}
