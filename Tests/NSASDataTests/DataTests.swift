import Foundation
import NSASData
import NSASTensor
import NSASTestSupport
import Testing

/// Data readers on small files the tests write, and on the embedded default.
@Suite struct DataTests {
    func tempDir(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "nsas-data-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: d)
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
    func write(_ bytes: [UInt8], _ path: String, gzip: Bool = false) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if gzip {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-f", "-n", path]
            try p.run(); p.waitUntilExit()
        }
    }
    func tinySet(_ n: Int, channels: Int = 1, size: Int = 4, classes: Int = 10) throws -> ImageSet {
        try ImageSet(pixels: (0..<(n * channels * size * size)).map { UInt8($0 % 251) }, labels: (0..<n).map { $0 % classes },
                     channels: channels, height: size, width: size, classes: classes)
    }

    @Test(arguments: [false, true])
    func idxRoundTrip(_ gzip: Bool) throws {
        let dir = tempDir("idx\(gzip)")
        let set = try tinySet(12)
        let (images, labels) = IDX.encode(set)
        try write(images, dir + "/train-images-idx3-ubyte", gzip: gzip)
        try write(labels, dir + "/train-labels-idx1-ubyte", gzip: gzip)
        let suffix = gzip ? ".gz" : ""
        let back = try IDX.read(images: dir + "/train-images-idx3-ubyte" + suffix, labels: dir + "/train-labels-idx1-ubyte" + suffix)
        #expect(back == set)
    }

    @Test func badIDXFilesNameTheFile() throws {
        let dir = tempDir("badidx")
        let (images, labels) = IDX.encode(try tinySet(5))
        var wrongMagic = images; wrongMagic[3] = 1
        try write(wrongMagic, dir + "/a"); try write(labels, dir + "/l")
        do { _ = try IDX.read(images: dir + "/a", labels: dir + "/l"); Issue.record("no error") } catch {
            #expect("\(error)".contains(dir + "/a") && "\(error)".contains("magic"))
        }
        try write(Array(images.dropLast(3)), dir + "/t")
        #expect(throws: DataError.self) { try IDX.read(images: dir + "/t", labels: dir + "/l") }
        try write(Array(labels.dropLast()), dir + "/l2")
        #expect(throws: DataError.self) { try IDX.read(images: dir + "/a", labels: dir + "/l2") }
        #expect(throws: DataError.self) { try IDX.read(images: dir + "/missing", labels: dir + "/l") }
        // A truncated gzip stream.
        try write(images, dir + "/g", gzip: true)
        let gz = [UInt8](FileManager.default.contents(atPath: dir + "/g.gz")!)
        try write(Array(gz.prefix(gz.count / 2)), dir + "/half.gz")
        #expect(throws: DataError.self) { try IDX.read(images: dir + "/half.gz", labels: dir + "/l") }
    }

    func cifarRecords(_ n: Int, hundred: Bool) -> [UInt8] {
        var out = [UInt8]()
        for i in 0..<n {
            if hundred { out.append(UInt8(i % 20)) }
            out.append(UInt8(hundred ? (i * 7) % 100 : i % 10))
            out += (0..<3072).map { UInt8(($0 + i) % 256) }
        }
        return out
    }

    @Test func cifarTenAndHundred() throws {
        let dir10 = tempDir("c10")
        for b in 1...5 { try write(cifarRecords(4, hundred: false), dir10 + "/data_batch_\(b).bin") }
        try write(cifarRecords(3, hundred: false), dir10 + "/test_batch.bin")
        let s = try DataSource.load(dir10, seed: 1)
        #expect(s.train.count + s.heldout.count == 20 && s.heldout.count == 10 && s.test.count == 3)
        #expect(s.channels == 3 && s.imageSize == 32 && s.classes == 10 && s.augmentation.flip)
        #expect(s.test.labels == [0, 1, 2] && s.test.pixels[3072] == 1)
        // The split is seeded: the same seed, the same split; another seed, another split.
        #expect(try DataSource.load(dir10, seed: 1).heldout == s.heldout)
        #expect(try DataSource.load(dir10, seed: 2).heldout != s.heldout)

        let dir100 = tempDir("c100")
        try write(cifarRecords(6, hundred: true), dir100 + "/train.bin")
        try write(cifarRecords(2, hundred: true), dir100 + "/test.bin")
        let h = try DataSource.load(dir100)
        #expect(h.classes == 100 && h.test.labels == [0, 7])

        try write(Array(cifarRecords(2, hundred: false).dropLast(5)), dir10 + "/test_batch.bin")
        do { _ = try DataSource.load(dir10); Issue.record("no error") } catch {
            #expect("\(error)".contains("test_batch.bin"))
        }
        #expect(throws: DataError.self) { try DataSource.load(tempDir("empty")) }
        #expect(throws: DataError.self) { try DataSource.load("/nonexistent/data") }
    }

    @Test func embeddedDefault() throws {
        let s = try DataSource.load("default")
        #expect(s.train.count == 4000 && s.heldout.count == 1000 && s.test.count == 1000)
        #expect(s.channels == 1 && s.imageSize == 28 && s.classes == 10)
        for set in [s.train, s.heldout, s.test] {
            let perClass = Dictionary(grouping: set.labels, by: { $0 }).mapValues(\.count)
            #expect(Set(perClass.values).count == 1)      // balanced
        }
        #expect(s.mean[0] > 0.2 && s.mean[0] < 0.4 && s.std[0] > 0.2)
    }

    @Test func batchesAreNormalisedAndSeeded() throws {
        let s = try DataSource.load("default")
        let batcher = Batcher(s)
        var rng = RNG(seed: 1)
        let order = Batcher.order(count: 1000, batchSize: 64, shuffle: true, dropLast: true, rng: &rng)
        #expect(order.count == 15 && order.allSatisfy { $0.count == 64 })
        #expect(Set(order.flatMap { $0 }).count == 960)
        let (x, labels) = batcher.batch(s.train, Array(0..<500), rng: &rng)
        #expect(x.shape == [500, 1, 28, 28] && labels == Array(s.train.labels[0..<500]))
        let mean = x.array.reduce(0, +) / Float(x.count)
        #expect(abs(mean) < 0.1)
        var a = RNG(seed: 5), b = RNG(seed: 5)
        let aug = Augmentation(cropPadding: 2, flip: true, cutout: 8)
        #expect(batcher.batch(s.train, [1, 2, 3], augmentation: aug, rng: &a).0.array == batcher.batch(s.train, [1, 2, 3], augmentation: aug, rng: &b).0.array)
        let plain = batcher.batch(s.train, [7], rng: &a).0.array, augmented = batcher.batch(s.train, [7], augmentation: aug, rng: &a).0.array
        #expect(plain != augmented)
        #expect(augmented.filter { $0 == 0 }.count >= 16)   // a cutout square
    }
}

@Suite struct IDXBoundsTests {
    /// An IDX header declaring 3000x3000 images is refused from its header, before the sizes multiply.
    @Test func hugeImagesAreRefusedFromTheHeader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-idx-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        try Data([0, 0, 8, 3] + be(2) + be(3000) + be(3000)).write(to: URL(fileURLWithPath: dir + "/images"))
        try Data([0, 0, 8, 1] + be(2) + [0, 1]).write(to: URL(fileURLWithPath: dir + "/labels"))
        #expect(throws: DataError.self) { try IDX.read(images: dir + "/images", labels: dir + "/labels") }
        do { _ = try IDX.read(images: dir + "/images", labels: dir + "/labels") } catch {
            #expect("\(error)".contains("images of 3000x3000; nsas reads images of 1x1 to 512x512"), "\(error)")
        }
    }
}

extension IDXBoundsTests {
    /// A test split of another image size is refused when the data loads.
    @Test func splitsOfDifferentSizesAreRefusedAtLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-idx-split-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ stem: String, side: Int, count: Int) throws {
            let set = try ImageSet(pixels: [UInt8](repeating: 9, count: count * side * side), labels: (0..<count).map { $0 % 10 },
                                   channels: 1, height: side, width: side, classes: 10)
            let (i, l) = IDX.encode(set)
            try Data(i).write(to: URL(fileURLWithPath: dir + "/\(stem)-images-idx3-ubyte"))
            try Data(l).write(to: URL(fileURLWithPath: dir + "/\(stem)-labels-idx1-ubyte"))
        }
        try write("train", side: 8, count: 4)
        try write("t10k", side: 6, count: 2)
        do { _ = try DataSource.load(dir); Issue.record("accepted a 6x6 test split for 8x8 training images") } catch {
            #expect("\(error)".contains("the test images are 1x6x6 in 10 classes, the training images 1x8x8 in 10"), "\(error)")
        }
    }
}
