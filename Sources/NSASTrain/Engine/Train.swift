import Foundation
import NSASBackends
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor

/// What `nsas-train` does, as one library call: a search, a stand-alone training, ground truth over
/// an architecture list, or the continuation of any of them.
public enum Train {
    public struct Request {
        public var config: RunConfig
        public var out: String?
        /// Searches: genotypes scored after every epoch.
        public var track: String?
        /// Stand-alone: train every architecture of this file (ground truth).
        public var archs: String?
        public var keepOptimizer = false
        public init(config: RunConfig, out: String? = nil, track: String? = nil, archs: String? = nil, keepOptimizer: Bool = false) {
            self.config = config; self.out = out; self.track = track; self.archs = archs; self.keepOptimizer = keepOptimizer
        }
    }

    /// The backend of a run, and the start line that says which.
    static func backend(_ name: String) throws -> (any Backend, String) {
        guard let kind = BackendKind(rawValue: name) else { throw RunError.config("unknown backend '\(name)'") }
        let b = kind.make()
        if let blas = b as? BLASBackend {
            return (b, "backend blas, \(blas.core.summary), \(Parallel.threads) thread\(Parallel.threads == 1 ? "" : "s") (\(Parallel.threadReason))")
        }
        return (b, "backend reference (plain Swift)")
    }

    /// Runs a request; returns the final line (the chosen or trained genotype, or where the ground truth is).
    @discardableResult
    public static func run(_ r: Request, log: RunLog) throws -> String {
        let c = r.config
        try c.validate()
        let (be, line) = try backend(c.backend)
        log.line("nsas-train: \(line)")
        log.record(["event": "start", "space": c.space.rawValue, "method": c.method.rawValue, "data": c.data, "backend": c.backend,
                    "seed": c.seed, "epochs": c.epochs, "batch": c.batch])
        return try withBackend(be) {
            if c.method == .standalone {
                if let archs = r.archs {
                    guard let out = r.out else { throw RunError.config("--archs needs --out DIR for truth.csv") }
                    let list = try Architectures.list(fromFile: archs, space: c.space)
                    let t = try GroundTruth.run(list, config: c, directory: out, log: log)
                    let path = (out as NSString).appendingPathComponent("truth.csv")
                    log.line("ground truth: \(t.rows.count) architectures in \(path)")
                    return path
                }
                let s = try Standalone.make(c, log: log)
                if let out = r.out { s.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: r.keepOptimizer) }
                return try s.run(startEpoch: 0).genotype
            }
            let s = try Search.make(c, log: log)
            if let track = r.track { try s.track(try Architectures.list(fromFile: track, space: c.space)) }
            if let out = r.out { s.checkpointer = RunCheckpointer(directory: out, keepAllOptimizerState: r.keepOptimizer) }
            return try s.run(startEpoch: 0).genotype
        }
    }

    /// Continues the run in `dir` (a search or a stand-alone training) from its newest checkpoint.
    @discardableResult
    public static func resume(_ dir: String, keepOptimizer: Bool, allowChangedData: Bool = false, log: RunLog) throws -> String {
        let saved = try RunSchema.config(try CheckpointFile(try RunDirectory.latest(dir)))
        let (be, line) = try backend(saved.run.backend)
        log.line("nsas-train: \(line)")
        return try withBackend(be) {
            if saved.run.method == .standalone {
                let (s, done) = try Standalone.resume(dir, log: log, keepOptimizer: keepOptimizer, allowChangedData: allowChangedData)
                return try s.run(startEpoch: done).genotype
            }
            let (s, done) = try Search.resume(dir, log: log, keepOptimizer: keepOptimizer, allowChangedData: allowChangedData)
            return try s.run(startEpoch: done).genotype
        }
    }
}
