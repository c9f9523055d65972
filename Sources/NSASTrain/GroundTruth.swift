import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASRun
import NSASSearchSpace

/// Stand-alone training of a list of architectures: the ground truth a supernet's ranking is
/// measured against. Results go to `DIR/truth.csv` (arch, the space's score on the validation
/// split, test_<score>, parameters, flops = multiply-adds of one item (empty where not counted),
/// seconds, epochs, seed), rewritten atomically after each architecture. Each architecture trains
/// in `DIR/archs/NNNN/` with a checkpoint every epoch: a rerun skips the finished ones and resumes
/// the one that was interrupted.
public enum GroundTruth {
    public static func header(_ score: ScoreKind) -> [String] {
        ["arch", score.name, "test_" + score.name, "parameters", "flops", "seconds", "epochs", "seed"]
    }

    public static func run(_ archs: [String], config: RunConfig, directory: String, log: RunLog) throws -> CSVTable {
        try config.validate()
        return try open(SpaceRegistry.type(config.space), archs, config, directory, log)
    }

    static func open<S: SearchSpace>(_ type: S.Type, _ texts: [String], _ config: RunConfig, _ directory: String, _ log: RunLog) throws -> CSVTable {
        let archs = try texts.map { try S.Arch(parsing: $0) }
        let path = (directory as NSString).appendingPathComponent("truth.csv")
        let header = header(S.score)
        var table = CSVTable(header: header, rows: [])
        if FileManager.default.fileExists(atPath: path) {
            table = try CSVTable.read(path)
            guard table.header == header else {
                throw CheckpointError(path, "has columns \(table.header.joined(separator: ",")), expected \(header.joined(separator: ","))", advice: "move it away or use another --out")
            }
        }
        let done = Set(table.rows.map { $0[0] })
        var data: Any? = nil
        for (i, g) in archs.enumerated() {
            if done.contains(g.canonical) { log.line("ground truth \(i + 1)/\(archs.count): already in truth.csv"); continue }
            log.line("ground truth \(i + 1)/\(archs.count): \(g.canonical)")
            var c = config
            c.standalone?.genotype = g.description
            let folder = (directory as NSString).appendingPathComponent(String(format: "archs/%04d", i + 1))
            let run: any AnyStandalone
            var start = 0
            if (try? RunDirectory.latest(folder)) != nil {
                (run, start) = try Standalone.resume(folder, log: log, keepOptimizer: false)
                guard run.config == c else {
                    throw CheckpointError(folder, "holds a training with other options or of another architecture", advice: "move it away or use another --out")
                }
            } else {
                run = try Standalone.make(c, log: log, data: data)
                run.checkpointer = RunCheckpointer(directory: folder)
            }
            let r = try run.run(startEpoch: start)
            data = run.data
            table.rows.append([g.canonical, String(r.validation), String(r.test), String(r.parameters), r.flops.map(String.init) ?? "",
                               String(format: "%.1f", r.seconds), String(config.epochs), String(config.seed)])
            try CheckpointWriter.writeAtomically(Array(table.text.utf8), to: path)
        }
        return table
    }
}
