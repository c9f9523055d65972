import CZlib

/// The checkpoint file format, version 2 (version 1 had the same container; version 2 is the run schema of one engine for every space and method) (docs/checkpoint-format.md describes it byte by byte).
///
///     header   8  magic "NSASCKPT"
///              4  format version (u32)
///              4  number of sections (u32)
///              8  reserved, zero
///     table    per section, 64 bytes:
///              16 name (ASCII, zero padded)
///              4  codec (u32: 0 raw, 1 zstd, 2 zstd over 4-byte shuffled data)
///              4  CRC-32 of the raw (decoded) bytes
///              8  offset of the stored bytes from the start of the file (u64)
///              8  stored length (u64)
///              8  raw length (u64)
///              4  CRC-32 of the stored bytes
///              12 reserved, zero
///     4  CRC-32 of the header and the table
///     the sections' stored bytes, in table order
///
/// All integers little-endian. Sections are independent: a reader that needs one section reads
/// the table and that section's bytes only.
public enum CheckpointFormat {
    public static let magic: [UInt8] = Array("NSASCKPT".utf8)
    public static let version: UInt32 = 2
    static let headerSize = 24
    static let entrySize = 64
    /// Larger section counts or lengths are treated as corruption, not allocated.
    public static let maxSections = 256
    public static let maxRawBytes: UInt64 = 16 << 30
    /// The largest decoded size a compressed section may declare for its stored size: 1024 times
    /// it, or 1 MiB for small sections (real sections compress 1.1-4x; zeros more).
    public static let maxCompressionRatio: UInt64 = 1024
    public static func maxRaw(stored: UInt64) -> UInt64 { max(1 << 20, stored.multipliedReportingOverflow(by: maxCompressionRatio).overflow ? .max : stored * maxCompressionRatio) }

    public enum Codec: UInt32, Sendable { case raw = 0, zstd = 1, zstdShuffle4 = 2 }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }
    static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 { crc32(Array(bytes)) }

    /// Byte shuffle: the k-th bytes of all 4-byte elements together, which lets zstd find the
    /// repeated exponent bytes of float32 data. A tail shorter than 4 bytes stays in place.
    static func shuffle4(_ b: [UInt8]) -> [UInt8] {
        let n = b.count / 4
        var out = [UInt8](repeating: 0, count: b.count)
        for i in 0..<n { for k in 0..<4 { out[k * n + i] = b[4 * i + k] } }
        for i in (4 * n)..<b.count { out[i] = b[i] }
        return out
    }
    static func unshuffle4(_ b: [UInt8]) -> [UInt8] {
        let n = b.count / 4
        var out = [UInt8](repeating: 0, count: b.count)
        for i in 0..<n { for k in 0..<4 { out[4 * i + k] = b[k * n + i] } }
        for i in (4 * n)..<b.count { out[i] = b[i] }
        return out
    }
}

/// Little-endian byte building and reading.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
}

struct ByteReader {
    let bytes: [UInt8]
    var pos = 0
    init(_ b: [UInt8]) { bytes = b }
    var remaining: Int { bytes.count - pos }
    mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, n <= remaining else { return nil }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }
    mutating func u8() -> UInt8? { take(1).map { $0.first! } }
    mutating func u16() -> UInt16? { take(2).map { s in s.reversed().reduce(0) { $0 << 8 | UInt16($1) } } }
    mutating func u32() -> UInt32? { take(4).map { s in s.reversed().reduce(0) { $0 << 8 | UInt32($1) } } }
    mutating func u64() -> UInt64? { take(8).map { s in s.reversed().reduce(0) { $0 << 8 | UInt64($1) } } }
}
