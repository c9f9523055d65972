/// CIFAR-10 and CIFAR-100 binary files: records of label byte(s) then 3x32x32 pixels.
public enum CIFAR {
    /// Reads CIFAR-10 (one label byte) or CIFAR-100 (coarse then fine label; the fine one is used) files.
    public static func read(_ paths: [String], hundred: Bool) throws -> ImageSet {
        let labelBytes = hundred ? 2 : 1, record = labelBytes + 3072
        var pixels = [UInt8](), labels = [Int]()
        for path in paths {
            let bytes = try readFile(path)
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                throw DataError.format(path: path, reason: "\(bytes.count) bytes is not a whole number of \(record)-byte CIFAR-\(hundred ? 100 : 10) records")
            }
            pixels.reserveCapacity(pixels.count + bytes.count / record * 3072)
            for r in 0..<(bytes.count / record) {
                let base = r * record
                let label = Int(bytes[base + labelBytes - 1])
                guard label < (hundred ? 100 : 10) else {
                    throw DataError.format(path: path, reason: "record \(r) has label \(label), outside 0..<\(hundred ? 100 : 10)")
                }
                labels.append(label)
                pixels.append(contentsOf: bytes[(base + labelBytes)..<(base + record)])
            }
        }
        return try ImageSet(pixels: pixels, labels: labels, channels: 3, height: 32, width: 32, classes: hundred ? 100 : 10)
    }
}
