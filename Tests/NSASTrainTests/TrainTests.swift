import Foundation
import NSASData
import NSASSearchSpace
import NSASTensor
import NSASTestSupport
import NSASTrain
import Testing

@Suite(.serialized) struct TrainTests {
    static let data = try! DataSource.load("default")

    static func smallConfig(_ method: Method) -> TrainConfig {
        var c = TrainConfig()
        c.method = method; c.layers = 3; c.channels = 4; c.batch = 32; c.epochs = 2; c.maxSteps = 12
        c.evalBatch = 200; c.searchSamples = 4; c.searchBatches = 1; c.searchTop = 2; c.lr = 0.05
        return c
    }

    /// Training-mode loss of one architecture on a fixed batch, without a tape.
    static func probeLoss(_ net: Supernet, _ arch: Genotype) throws -> Float {
        var rng = RNG(seed: 9)
        let (x, y) = Batcher(data).batch(data.train, Array(0..<128), rng: &rng)
        return try withNoGrad { try net.forward(x, arch: arch, ForwardContext(training: true)).crossEntropy(labels: y).item }
    }

    @Test func randomNASLowersTheLossAndSelectsAParsableGenotype() throws {
        let log = try RunLog(directory: nil, quiet: true)
        let trainer = try RandomNASTrainer(config: Self.smallConfig(.randomnas), data: Self.data, log: log)
        let before = try Self.probeLoss(trainer.supernet, NamedGenotypes.dartsV2)
        let result = try trainer.run()
        let after = try Self.probeLoss(trainer.supernet, NamedGenotypes.dartsV2)
        #expect(after < before, "loss \(before) -> \(after)")
        #expect(result.epochs.count == 2 && result.epochs.allSatisfy { $0.trainLoss.isFinite })
        #expect(try Genotype(parsing: result.genotype.description) == result.genotype)
        #expect(result.heldoutAccuracy >= 0 && result.heldoutAccuracy <= 1)
    }

    @Test func seededRunsRepeat() throws {
        var c = Self.smallConfig(.randomnas)
        c.epochs = 1; c.maxSteps = 3
        let a = try RandomNASTrainer(config: c, data: Self.data, log: RunLog(directory: nil, quiet: true))
        let b = try RandomNASTrainer(config: c, data: Self.data, log: RunLog(directory: nil, quiet: true))
        #expect(try a.trainEpoch(0).trainLoss == b.trainEpoch(0).trainLoss)
    }

    @Test func standaloneTrainsAndWritesMetrics() throws {
        let dir = NSTemporaryDirectory() + "nsas-train-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        var c = Self.smallConfig(.standalone)
        c.auxiliaryWeight = 0.4; c.cutout = 8
        let result = try StandaloneTrainer(genotype: NamedGenotypes.nsas, config: c, data: Self.data,
                                           log: RunLog(directory: dir, quiet: true)).run()
        #expect(result.epochs.count == 2 && result.epochs[1].trainLoss < result.epochs[0].trainLoss)
        #expect(result.validationAccuracy >= 0 && result.testAccuracy <= 1 && result.parameters > 0)
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let events = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["event"] as! String }
        #expect(events == ["epoch", "epoch", "standalone"])
    }

    @Test func badSettingsAreOneLineErrors() {
        var c = TrainConfig()
        c.batch = 1
        #expect(throws: TrainError.self) { try c.validate() }
        c = TrainConfig(); c.backend = "gpu"
        do { try c.validate(); Issue.record("no error") } catch { #expect("\(error)".contains("--backend")) }
        #expect(throws: TrainError.self) { try RunLog(directory: "/proc/nsas-cannot-write") }
    }

    @Test func divergenceIsAnErrorNotACrash() throws {
        var c = Self.smallConfig(.randomnas)
        c.lr = 1e9; c.clip = 1e30; c.maxSteps = 8; c.epochs = 1
        let trainer = try RandomNASTrainer(config: c, data: Self.data, log: RunLog(directory: nil, quiet: true))
        do { _ = try trainer.trainEpoch(0) } catch let e as TrainError {
            if case .diverged = e { } else { Issue.record("unexpected \(e)") }
            return
        }
        // Batch norm can keep a huge learning rate finite for a few steps; then the weights must be finite too.
        #expect(trainer.supernet.parameters.allSatisfy { $0.array.allSatisfy(\.isFinite) })
    }
}
