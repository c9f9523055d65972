import ArgumentParser
import Foundation
import NSASAnalysis
import NSASBackends
import NSASCheckpoint
import NSASCLI
import NSASRun
import NSASSearchSpace
import NSASTensor

@main
struct NSASRank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsas-rank",
        abstract: "Rank architectures with weights inherited from supernet checkpoints.",
        subcommands: [Score.self, Merge.self, Sample.self],
        defaultSubcommand: Score.self)
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score architectures on the run's held-out split: CSV arch,accuracy,loss,rank (and epoch for a folder).",
        discussion: """
        nsas-rank --checkpoint runs/x/epoch-0005.nsasckpt --archs archs.txt --out ranking.csv
        nsas-rank --checkpoint runs/x --sample 100 --seed 1 --out curves.csv     (every epoch: forgetting curves)
        nsas-rank --checkpoint runs/x --archs archs.txt --shard 2/8 --out part-2.csv; nsas-rank merge part-*.csv --out all.csv
        nsas-rank --checkpoint runs/nb201/epoch-0050.nsasckpt --all --shard 0/4 --out part-0.csv   (NAS-Bench-201: all 15,625)
        An RNN checkpoint (--space rnn) ranks recurrent genotypes by validation perplexity: the CSV has arch,perplexity,loss,rank
        (rank 1 = lowest perplexity); nsas-tau reads a perplexity column as lower-is-better by itself.
        BN uses each op's running statistics (as the reference code does); --bn-recalibrate B first recomputes the
        statistics of every BN layer on each architecture's path from the first B training batches (a known
        improvement of inherited-weight ranking). arch is written in the one-line form.
        """)

    @Option(help: "A checkpoint file, or a run folder (every epoch).") var checkpoint: String
    @Option(help: "Architectures, one genotype a line (DARTS text or the one-line form).") var archs: String?
    @Option(help: "Rank this many random architectures instead of --archs.") var sample: Int?
    @Flag(help: "Rank every architecture of a finite space (NAS-Bench-201: 15,625; split the work with --shard).") var all = false
    @Option(help: "Seed of --sample.") var seed: UInt64 = 0
    @Option(help: "Score on this many held-out batches (default: all).") var valBatches: Int?
    @Option(help: "Scoring batch size (default: the run's --eval-batch).") var batch: Int?
    @Option(help: "Only shard i of n (i/n, 0-based): every n-th architecture from the i-th.") var shard: String?
    @Option(help: "Print the best K.") var top: Int = 0
    @Option(help: "Output CSV.") var out: String?
    @Option(help: "Recompute the BN statistics of each architecture's path from this many training batches (0: keep the running statistics).")
    var bnRecalibrate: Int = 0
    @OptionGroup var backend: BackendOptions

    func validate() throws {
        guard (0...10_000).contains(bnRecalibrate) else { throw ValidationError("--bn-recalibrate must be between 0 and 10000") }
        guard (1...65_536).contains(batch ?? 1) else { throw ValidationError("--batch must be between 1 and 65536") }
        if let valBatches, valBatches < 1 { throw ValidationError("--val-batches must be at least 1 (leave it out for the whole split)") }
        if let sample, !(1...1_000_000).contains(sample) { throw ValidationError("--sample must be between 1 and 1000000, not \(sample)") }
        guard top >= 0 else { throw ValidationError("--top must not be negative") }
    }

    func run() throws {
        try runReportingErrors("nsas-rank") {
            let files = try RunDirectory.files(checkpoint)
            let isDir = files.count > 1 || files.first != checkpoint
            let first = try RunSchema.config(try CheckpointFile(files[0])).run
            var list: [String]
            if [archs != nil, sample != nil, all].filter({ $0 }).count > 1 { throw ValidationError("give one of --archs, --sample and --all") }
            if all {
                list = try Ranking.all(space: first.space, options: first.network)
            } else if let archs {
                list = try Architectures.list(fromFile: archs, space: first.space)
            } else if let sample {
                list = try Ranking.sample(space: first.space, options: first.network, count: sample, seed: seed, allowNone: first.allowNone)
            } else {
                throw ValidationError("give --archs FILE, --sample N or --all")
            }
            list = try sharded(list)
            let (be, _) = try backend.make()
            var rows: [(arch: String, accuracy: Float, loss: Float, epoch: Int?)] = []
            var scoreName = "accuracy"
            try withBackend(be) {
                var shared: Any? = nil
                for file in files {
                    let ranker = try Ranking.open(checkpoint: file, evalBatch: batch, data: shared)
                    shared = ranker.data
                    scoreName = ranker.score.name
                    let scores = try ranker.score(list, valBatches: valBatches, bnRecalibrate: bnRecalibrate) { k in report(file, k, list.count) }
                    for s in scores { rows.append((s.arch, s.score.value, s.score.loss, isDir ? ranker.epoch : nil)) }
                }
            }
            try emit(RankingTable.table(rows, score: scoreName))
        }
    }

    func sharded<T>(_ list: [T]) throws -> [T] {
        guard let shard else { return list }
        let p = shard.split(separator: "/").compactMap { Int($0) }
        guard p.count == 2, p[1] >= 1, (0..<p[1]).contains(p[0]) else { throw ValidationError("--shard is i/n with 0 <= i < n, e.g. 0/4") }
        return RankingTable.shard(list, index: p[0], of: p[1])
    }

    func report(_ file: String, _ k: Int, _ n: Int) {
        if k % max(1, n / 10) == 0 || k == n {
            FileHandle.standardError.write(Data("\((file as NSString).lastPathComponent): \(k)/\(n) architectures\n".utf8))
        }
    }

    func emit(_ table: CSVTable) throws {
        if let out { try Data(table.text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } else { print(table.text, terminator: "") }
        if top > 0 {
            for r in table.rows.prefix(top) { print("#\(r[3])  \(table.header[1]) \(r[1])  \(r[0])") }
        }
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write N random architectures (RandomNAS's uniform sampler), one genotype a line: an --archs file for ranking, tracking and ground truth.")
    @Argument(help: "How many.") var count: Int
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Flag(help: "Allow the `none` op.") var allowNone = false
    @Flag(help: "DARTS Genotype(...) text instead of the one-line form.") var darts = false
    @Option(help: "Search space: \(SpaceRegistry.names.joined(separator: ", ")) (or cnn, rnn), with its default options.") var space = "cnn"
    @Option(help: "Output file (default: standard output).") var out: String?

    func validate() throws { guard (1...1_000_000).contains(count) else { throw ValidationError("count must be between 1 and 1000000, not \(count)") } }

    func run() throws {
        try runReportingErrors("nsas-rank sample") {
            let type = try SpaceRegistry.type(named: space)
            let lines = try Ranking.sample(space: id(type), count: count, seed: seed, allowNone: allowNone, full: darts)
            let text = lines.joined(separator: "\n") + "\n"
            if let out { try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } else { print(text, terminator: "") }
        }
    }

    func id<S: SearchSpace>(_ t: S.Type) -> SpaceID { S.id }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join shard CSVs of nsas-rank and rank them again.")
    @Argument(help: "The shard files.") var parts: [String]
    @Option(help: "Output CSV (default: standard output).") var out: String?

    func run() throws {
        try runReportingErrors("nsas-rank merge") {
            let table = try RankingTable.merge(try parts.map { (try CSVTable.read($0), $0) })
            if let out { try Data(table.text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } else { print(table.text, terminator: "") }
        }
    }
}
