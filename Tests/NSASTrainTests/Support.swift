import Foundation
import NSASData
import NSASRun
import NSASSearchSpace
import NSASTensor
import NSASTrain

/// A search small enough for a debug build: 3 cells of C=4, a few steps an epoch.
func tinyCNN(_ method: Method = .randomnas, epochs: Int, steps: Int, batch: Int = 16, genotype: Genotype = NamedGenotypes.dartsV2) -> RunConfig {
    var o = DARTSCNNOptions()
    o.layers = 3; o.channels = 4
    return tinyImages(.dartsCNN, method, o, genotype: genotype.description, epochs: epochs, steps: steps, batch: batch)
}

/// A NAS-Bench-201 run at a tiny size (C = 4, one cell a stage) on the embedded images.
func tinyNB201(_ method: Method = .randomnas, epochs: Int, steps: Int, batch: Int = 16,
               arch: String = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|") -> RunConfig {
    var o = NB201Options()
    o.channels = 4; o.cellsPerStage = 1
    return tinyImages(.nb201, method, o, genotype: arch, epochs: epochs, steps: steps, batch: batch)
}

/// An image space's run with `options`: a few steps an epoch, a 1-candidate random search, an archive of 2.
func tinyImages<O: Encodable>(_ space: SpaceID, _ method: Method, _ options: O, genotype: String, epochs: Int, steps: Int, batch: Int) -> RunConfig {
    var c = try! RunConfig.defaults(space: space, method: method, genotype: genotype)
    c.network = try! JSONValue(encoding: options)
    c.batch = batch; c.epochs = epochs; c.maxSteps = steps; c.evalBatch = 1000
    c.selection?.samples = 1; c.selection?.top = 1
    c.nsas?.archiveSize = 2
    return c
}

/// A recurrent search of 4 nodes and 12 hidden units on the tiny corpus.
func tinyRNN(_ method: Method = .randomnas, epochs: Int = 2, steps: Int = 12) -> RunConfig {
    var c = try! RunConfig.defaults(space: .dartsRNN, method: method, genotype: "rnn:tanh~0|relu~1|sigmoid~1|identity~2")
    var o = DARTSRNNOptions(standalone: method == .standalone)
    o.hidden = 12; o.nodes = 4; o.bptt = 6; o.dropout = 0.1; o.dropoutH = 0.1; o.dropoutX = 0.1; o.dropoutI = 0.1
    c.network = try! JSONValue(encoding: o)
    c.epochs = epochs; c.batch = 8; c.evalBatch = 4; c.maxSteps = steps; c.data = tinyCorpusFolder
    c.optimizer.lr = 10
    c.selection?.samples = 4; c.selection?.batches = 2; c.selection?.top = 2
    c.nsas?.archiveSize = 2; c.nsas?.recentSize = 4
    return c
}

extension DARTSRNNOptions {
    init(standalone: Bool) { self = DARTSRNNSpace.defaults(standalone: standalone).1 }
}

/// A small corpus with structure (a tiny grammar), written by the test into a PTB-style folder:
/// the real PTB is not in the repository.
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

let quietLog = { try! RunLog(directory: nil, quiet: true) }

func freshDir(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "nsas-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    return dir
}

/// The CNN supernet of a search.
func supernet(_ s: any AnySearch) -> Supernet { (s.spaceObject as! DARTSCNNSpace).supernet }
func weights(_ s: any AnySearch) -> [[Float]] { s.namedWeights().map { $0.1.array } }

let embedded = try! DataSource.load("default")

/// Training-mode loss of one architecture on a fixed batch, without a tape.
func probeLoss(_ net: Supernet, _ arch: Genotype) throws -> Float {
    var rng = RNG(seed: 9)
    let (x, y) = Batcher(embedded).batch(embedded.train, Array(0..<128), rng: &rng)
    return try withNoGrad { try net.forward(x, arch: arch, ForwardContext(training: true)).crossEntropy(labels: y).item }
}
