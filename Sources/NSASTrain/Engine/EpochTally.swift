import Foundation
import NSASRun
import NSASSearchSpace

/// What an epoch's training loop keeps of its steps (loss, items right, items, time), its
/// progress line, and the epoch's metrics: shared by the search and the stand-alone loops.
struct EpochTally {
    let label: String, epoch: Int, epochs: Int, total: Int, unit: String
    let start = Timing.now()
    var lossSum = 0.0, correct = 0, seen = 0
    /// Path passes of the epoch's steps (searches; see `MethodStep.passes`).
    var passes = 0.0

    init(label: String, epoch: Int, epochs: Int, total: Int, unit: String) {
        self.label = label; self.epoch = epoch; self.epochs = epochs; self.total = total; self.unit = unit
    }

    /// Counts step `s`'s loss and writes the progress line.
    mutating func add(_ r: PathLoss, step s: Int, log: RunLog) {
        lossSum += Double(r.value) * Double(r.count); correct += r.correct; seen += r.count
        let elapsed = Timing.now() - start, mean = lossSum / Double(seen)
        let images = unit == "images"
        let quality = images ? String(format: "acc %.3f", Float(correct) / Float(seen)) : String(format: "ppl %.1f", exp(mean))
        log.progress(String(format: "%@ epoch %d/%d step %d/%d loss %.4f %@ %.0f %@/s ETA %@", label, epoch + 1, epochs, s + 1, total, mean,
                            quality, Double(seen) / max(elapsed, 1e-9), images ? "img" : "tok",
                            formatDuration(elapsed / Double(s + 1) * Double(total - s - 1))), step: s + 1, of: total)
    }

    /// The epoch's metrics: mean loss, accuracy (images) or perplexity (text), time, throughput.
    func metrics(lr: Float) -> EpochMetrics {
        let seconds = Timing.now() - start, mean = Float(lossSum / Double(max(seen, 1)))
        var m = EpochMetrics(epoch: epoch + 1, trainLoss: mean, lr: lr, seconds: seconds, throughput: Double(seen) / max(seconds, 1e-9), unit: unit)
        if passes > 0 { m.pathPasses = passes }
        if unit == "images" { m.trainAccuracy = Float(correct) / Float(max(seen, 1)) } else { m.trainPerplexity = exp(mean) }
        return m
    }
}
