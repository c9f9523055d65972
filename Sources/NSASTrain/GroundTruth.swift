import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASData
import NSASSearchSpace
import NSASTensor

/// Stand-alone training of a list of architectures: the ground truth a supernet's ranking is
/// measured against. Results go to `DIR/truth.csv` (arch, accuracy = validation accuracy,
/// test_accuracy, parameters, flops = multiply-adds of one image, seconds, epochs, seed), rewritten atomically after each
/// architecture; architectures already in the file are not trained again, so a killed run resumes.
public enum GroundTruth {
    public static let header = ["arch", "accuracy", "test_accuracy", "parameters", "flops", "seconds", "epochs", "seed"]
    /// The columns before FLOPs were recorded; such a file gains the column (computed, not trained).
    static let headerWithoutFLOPs = ["arch", "accuracy", "test_accuracy", "parameters", "seconds", "epochs", "seed"]

    /// Multiply-adds of one image through the stand-alone network of `g` under `config`.
    public static func flops(_ g: Genotype, config: TrainConfig, data: DataSplits) throws -> Int {
        var rng = RNG(seed: 0)
        return try StandaloneNetwork(g, config: CNNConfig(layers: config.layers, channels: config.channels, inputChannels: data.channels,
                                                          imageSize: data.imageSize, classes: data.classes), rng: &rng).multiplyAdds()
    }

    public static func run(_ archs: [Genotype], config: TrainConfig, data: DataSplits, directory: String, log: RunLog) throws -> CSVTable {
        let path = (directory as NSString).appendingPathComponent("truth.csv")
        var table = CSVTable(header: header, rows: [])
        if FileManager.default.fileExists(atPath: path) {
            table = try CSVTable.read(path)
            if table.header == headerWithoutFLOPs {
                table.rows = try table.rows.map { r in
                    var r = r
                    r.insert(String(try flops(try Genotype(parsing: r[0]), config: config, data: data)), at: 4)
                    return r
                }
                table.header = header
            }
            guard table.header == header else {
                throw CheckpointError(path, "has columns \(table.header.joined(separator: ",")), expected \(header.joined(separator: ","))", advice: "move it away or use another --out")
            }
        }
        let done = Set(table.rows.map { $0[0] })
        for (i, g) in archs.enumerated() {
            if done.contains(g.canonical) { log.line("ground truth \(i + 1)/\(archs.count): already in truth.csv"); continue }
            log.line("ground truth \(i + 1)/\(archs.count): \(g.canonical)")
            var c = config
            c.genotype = g.description
            let r = try StandaloneTrainer(genotype: g, config: c, data: data, log: log).run()
            table.rows.append([g.canonical, String(r.validationAccuracy), String(r.testAccuracy), String(r.parameters), String(r.flops),
                               String(format: "%.1f", r.seconds), String(config.epochs), String(config.seed)])
            try CheckpointWriter.writeAtomically(Array(table.text.utf8), to: path)
        }
        return table
    }
}
