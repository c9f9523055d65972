import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTrain
import Testing

@Suite struct AblationTests {
    @Test func samplingAndSelectionDefaultsAreRandomNASs() throws {
        let cnn = try RunConfig.defaults(space: .dartsCNN, method: .randomnas)
        #expect(cnn.allowNone && cnn.selection == SelectionOptions(samples: 1000, batches: 10, batchSize: 64) && cnn.selection?.top == 10)
        let rnn = try RunConfig.defaults(space: .dartsRNN, method: .nsas)
        #expect(!rnn.allowNone && rnn.selection?.batchSize == nil)
        // With none allowed, uniform sampling draws it (about 1 in 8 edges).
        let drawn = try Ranking.sample(space: .dartsCNN, count: 20, seed: 1, allowNone: true)
        #expect(drawn.contains { $0.contains("none~") })
        #expect(try !Ranking.sample(space: .dartsCNN, count: 20, seed: 1, allowNone: false).contains { $0.contains("none~") })
    }

    /// --paths-per-step K: every step trains K paths on one batch; the first is the current path of
    /// every other arm of the seed (paired), the others come from their own stream; it replays.
    @Test func pathsPerStepIsPairedWithPlainRandomNASAndReplays() throws {
        let plain = try Search.make(tinyCNN(epochs: 1, steps: 4), log: quietLog())
        _ = try plain.trainEpoch(0)
        var c = tinyCNN(epochs: 1, steps: 4)
        c.randomnas?.pathsPerStep = 3
        let dir = freshDir("paths-per-step")
        let k = try Search.make(c, log: quietLog())
        k.checkpointer = RunCheckpointer(directory: dir, keepAllOptimizerState: true)
        _ = try k.run(startEpoch: 0)
        let parts = k.pathTexts.map { $0.components(separatedBy: " + ") }
        #expect(parts.allSatisfy { $0.count == 3 } && parts.map { $0[0] } == plain.pathTexts)
        #expect(weights(k) != weights(plain))
        let (reports, divergence) = try Replay(directory: dir, log: quietLog()).run(from: 0, to: nil)
        #expect(divergence == nil && reports.count == 1)
    }

    @Test func normalizedNSASTakesRandomNASsStepSize() throws {
        var c = tinyCNN(.nsas, epochs: 1, steps: 4)
        c.nsas?.normalize = true
        let s = try Search.make(c, log: quietLog())
        let m = try s.trainEpoch(0)
        #expect(m.trainLoss.isFinite)
        c.nsas?.mode = .replay
        #expect(throws: RunError.self) { try c.validate() }
    }
}
