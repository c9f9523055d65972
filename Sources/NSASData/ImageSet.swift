/// Labelled 8-bit images, NCHW.
public struct ImageSet: Sendable, Equatable {
    public var pixels: [UInt8]
    public var labels: [Int]
    public var channels: Int, height: Int, width: Int
    public var classes: Int

    public init(pixels: [UInt8], labels: [Int], channels: Int, height: Int, width: Int, classes: Int) throws {
        guard channels > 0, height > 0, width > 0, pixels.count == labels.count * channels * height * width else {
            throw DataError.empty("\(labels.count) labels for \(pixels.count) bytes of \(channels)x\(height)x\(width) images")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw DataError.empty("label \(bad) outside 0..<\(classes)")
        }
        self.pixels = pixels; self.labels = labels; self.channels = channels; self.height = height; self.width = width
        self.classes = classes
    }

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }

    /// The images at these indices, in this order.
    public func subset(_ indices: [Int]) -> ImageSet {
        var px = [UInt8](); px.reserveCapacity(indices.count * imageSize)
        for i in indices { px.append(contentsOf: pixels[(i * imageSize)..<((i + 1) * imageSize)]) }
        return try! ImageSet(pixels: px, labels: indices.map { labels[$0] }, channels: channels, height: height,
                             width: width, classes: classes)
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        var mean = [Double](repeating: 0, count: channels), sq = mean
        let plane = height * width
        for i in 0..<count {
            for c in 0..<channels {
                let base = i * imageSize + c * plane
                var s = 0.0, s2 = 0.0
                for j in 0..<plane { let v = Double(pixels[base + j]) / 255; s += v; s2 += v * v }
                mean[c] += s; sq[c] += s2
            }
        }
        let n = Double(max(count * plane, 1))
        return (mean.map { Float($0 / n) }, zip(mean, sq).map { Float(max(($1 / n) - ($0 / n) * ($0 / n), 1e-12).squareRoot()) })
    }
}
