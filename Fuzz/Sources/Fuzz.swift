import Foundation
import NSASAnalysis
import NSASCheckpoint
import NSASData
import NSASRun
import NSASSearchSpace

/// libFuzzer entry point of the readers of untrusted input (Tools/fuzz builds and runs it):
/// NSAS_FUZZ_TARGET names the reader. Any input may be refused with an error; none may crash,
/// hang or allocate without bound.
let target = ProcessInfo.processInfo.environment["NSAS_FUZZ_TARGET"] ?? "checkpoint"
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-fuzz-\(getpid())").path

func writeScratch(_ name: String, _ bytes: [UInt8]) -> String {
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let path = scratch + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case "checkpoint":
        // The reader, every decoder of the run schema, and the genotype a checkpoint names.
        let path = writeScratch("f.nsasckpt", bytes)
        if let f = try? CheckpointFile(path) {
            try? f.verify()
            _ = try? RunSchema.config(f); _ = try? RunSchema.state(f)
            for name in f.sectionNames {
                if ["weights", "optimizer", "arch", "wpl", "asgd"].contains(name) { _ = try? f.tensors(name) } else { _ = try? f.read(name) }
            }
            _ = try? CheckpointGenotype.load(path)
        }
    case "genotype":
        // Every space's parser; what parses prints to text that parses to the same architecture.
        let text = String(decoding: bytes, as: UTF8.self)
        if let g = try? Genotype(parsing: text) {
            guard (try? Genotype(parsing: g.description)) == g, (try? Genotype(parsing: g.canonical)) == g else { fatalError("CNN round trip: \(text)") }
        }
        if let g = try? RecurrentGenotype(parsing: text) {
            guard (try? RecurrentGenotype(parsing: g.description)) == g, (try? RecurrentGenotype(parsing: g.canonical)) == g else { fatalError("RNN round trip: \(text)") }
        }
        if let a = try? NB201Arch(parsing: text) {
            guard (try? NB201Arch(parsing: a.canonical)) == a, (try? NB201Arch(index: a.index)) == a else { fatalError("NB201 round trip: \(text)") }
        }
        _ = try? AnyGenotype(parsing: text)
    case "csv":
        if let t = try? CSVTable.parse(String(decoding: bytes, as: UTF8.self)) {
            // What parses prints to text that parses to the same table.
            guard (try? CSVTable.parse(t.text)) == t else { fatalError("CSV round trip") }
        }
    case "idx":
        // The first two bytes (big-endian) give the image file's length; the label file follows it.
        let n = bytes.count >= 2 ? Int(bytes[0]) << 8 | Int(bytes[1]) : 0
        let body = Array(bytes.dropFirst(2))
        let images = writeScratch("images", Array(body.prefix(n))), labels = writeScratch("labels", Array(body.dropFirst(n)))
        _ = try? IDX.read(images: images, labels: labels)
    case "cifar":
        _ = try? CIFAR.read([writeScratch("data_batch_1.bin", bytes)], hundred: false)
        _ = try? CIFAR.read([writeScratch("train.bin", bytes)], hundred: true)
    case "ptb":
        let dir = scratch + "/ptb"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"] { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(bytes)) }
        _ = try? Corpus.load(dir)
    default:
        fatalError("NSAS_FUZZ_TARGET must be checkpoint, genotype, csv, idx, cifar or ptb, not \(target)")
    }
    return 0
}

/// libFuzzer's driver (its no-main runtime), started from the executable's entry point.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("nsas_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc, v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzz)
}
