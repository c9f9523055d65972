/// MNIST / Fashion-MNIST IDX files (`*-idx3-ubyte` images, `*-idx1-ubyte` labels, optionally gzip).
public enum IDX {
    /// The largest image side read.
    public static let maxSide = 512

    static func header(_ bytes: [UInt8], path: String, dims: Int, type: UInt8 = 0x08) throws -> [Int] {
        guard bytes.count >= 4 + 4 * dims else { throw DataError.format(path: path, reason: "too short for an IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == type, Int(bytes[3]) == dims else {
            throw DataError.format(path: path, reason: String(format: "wrong IDX magic %02x%02x%02x%02x (expected 0000%02x%02x: unsigned bytes, %d dimensions)",
                                                              bytes[0], bytes[1], bytes[2], bytes[3], type, dims, dims))
        }
        return (0..<dims).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
    }

    /// Reads an image file and its label file into a one-channel ImageSet.
    public static func read(images: String, labels: String, classes: Int = 10) throws -> ImageSet {
        let ib = try readFile(images), lb = try readFile(labels)
        let d = try header(ib, path: images, dims: 3)
        let n = try header(lb, path: labels, dims: 1)[0]
        // Sizes are bounded before they multiply: images up to 512x512 (the networks here are
        // built for small images; larger ones would exhaust memory in the first batch).
        guard (1...IDX.maxSide).contains(d[1]), (1...IDX.maxSide).contains(d[2]) else {
            throw DataError.format(path: images, reason: "images of \(d[1])x\(d[2]); nsas reads images of 1x1 to \(IDX.maxSide)x\(IDX.maxSide)")
        }
        let expected = 16 + d[0] * d[1] * d[2]
        guard ib.count == expected else {
            throw DataError.format(path: images, reason: "\(ib.count) bytes, but the header's \(d[0]) images of \(d[1])x\(d[2]) need \(expected)")
        }
        guard lb.count == 8 + n else { throw DataError.format(path: labels, reason: "\(lb.count) bytes, but the header's \(n) labels need \(8 + n)") }
        guard n == d[0] else { throw DataError.format(path: labels, reason: "\(n) labels for \(d[0]) images in \(images)") }
        let lab = lb[8...].map(Int.init)
        if let bad = lab.first(where: { $0 >= classes }) { throw DataError.format(path: labels, reason: "label \(bad) outside 0..<\(classes)") }
        return try ImageSet(pixels: Array(ib[16...]), labels: lab, channels: 1, height: d[1], width: d[2], classes: classes)
    }

    /// Serialises images and labels as IDX (used by the tests and the default-data tool).
    public static func encode(_ set: ImageSet) -> (images: [UInt8], labels: [UInt8]) {
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        let images = [0, 0, 8, 3] + be(set.count) + be(set.height) + be(set.width) + set.pixels
        let labels = [0, 0, 8, 1] + be(set.count) + set.labels.map { UInt8($0) }
        return (images, labels)
    }
}

import Foundation
