import Foundation

/// Tensors written for other frameworks: the Hugging Face safetensors layout (an 8-byte
/// little-endian header length, a JSON header of name -> dtype, shape, byte offsets, then the
/// raw little-endian data) and numpy's `.npz` (a ZIP archive, stored without compression, of one
/// `.npy` file per tensor).
public enum TensorExport {
    public struct Item: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        /// Stored as int64 (PyTorch's `num_batches_tracked`) instead of float32.
        public var int64 = false
        public init(name: String, shape: [Int], values: [Float], int64: Bool = false) {
            self.name = name; self.shape = shape; self.values = values; self.int64 = int64
        }
        var bytes: [UInt8] { int64 ? values.flatMap { TensorExport.le64(UInt64(bitPattern: Int64($0))) } : TensorExport.floatBytes(values) }
    }

    /// The safetensors bytes; `metadata` goes to the header's `__metadata__` (strings only).
    public static func safetensors(_ items: [Item], metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in items {
            let size = (t.int64 ? 8 : 4) * t.values.count
            header[t.name] = ["dtype": t.int64 ? "I64" : "F32", "shape": t.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        // The data starts 8-byte aligned (padding with spaces is allowed by the format).
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = le64(UInt64(json.count)) + json
        out.reserveCapacity(out.count + offset)
        for t in items { out += t.bytes }
        return out
    }

    /// The `.npz` bytes: `NAME.npy` for every tensor (float32, C order).
    public static func npz(_ items: [Item]) throws -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for t in items {
            let shape = t.shape.isEmpty ? "()" : "(" + t.shape.map(String.init).joined(separator: ", ") + (t.shape.count == 1 ? ",)" : ")")
            var dict = Array("{'descr': '\(t.int64 ? "<i8" : "<f4")', 'fortran_order': False, 'shape': \(shape), }".utf8)
            // Magic, version 1.0, header length; the whole header padded with spaces to 64 bytes, ending in a newline.
            while (10 + dict.count + 1) % 64 != 0 { dict.append(0x20) }
            dict.append(0x0a)
            let npy = [0x93] + Array("NUMPY".utf8) + [1, 0] + le16(UInt16(dict.count)) + dict + t.bytes
            let name = Array((t.name + ".npy").utf8)
            guard out.count + npy.count < Int(UInt32.max), name.count < Int(UInt16.max) else {
                throw CheckpointError("npz", "over 4 GiB or a name over 64 KiB: use --format safetensors")
            }
            let crc = CheckpointFormat.crc32(npy), at = UInt32(out.count)
            // Local file header: stored (method 0), no data descriptor.
            out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(npy.count)) + le32(UInt32(npy.count)) + le16(UInt16(name.count)) + le16(0) + name + npy
            central += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(npy.count)) + le32(UInt32(npy.count)) + le16(UInt16(name.count)) + le16(0) + le16(0) + le16(0) + le16(0)
                + le32(0) + le32(at) + name
        }
        guard items.count < Int(UInt16.max), out.count + central.count < Int(UInt32.max) else {
            throw CheckpointError("npz", "too many tensors or over 4 GiB: use --format safetensors")
        }
        let start = UInt32(out.count)
        return out + central + le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(items.count)) + le16(UInt16(items.count))
            + le32(UInt32(central.count)) + le32(start) + le16(0)
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xff) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> (8 * UInt64($0)) & 0xff) } }
    static func floatBytes(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 4 * v.count)
        out.withUnsafeMutableBytes { dst in
            v.withUnsafeBytes { src in
                for i in 0..<v.count {
                    let bits = src.load(fromByteOffset: 4 * i, as: UInt32.self).littleEndian
                    dst.storeBytes(of: bits, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
        }
        return out
    }
}
