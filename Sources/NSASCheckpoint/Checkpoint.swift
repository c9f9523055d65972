import Foundation
import NSASIO

/// A named tensor's shape and float32 values, as stored in a checkpoint.
public struct StoredTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], values: [Float]) { self.name = name; self.shape = shape; self.values = values }
}

/// Encoding of tensor sections: u32 count, then per tensor u16 name length, the UTF-8 name,
/// u8 rank, rank u32 dimensions, and the float32 values (little-endian).
public enum TensorCodec {
    public static func encode(_ tensors: [StoredTensor]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(tensors.count))
        for t in tensors {
            let name = Array(t.name.utf8)
            w.u16(UInt16(name.count)); w.raw(name)
            w.u8(UInt8(t.shape.count)); t.shape.forEach { w.u32(UInt32($0)) }
            w.bytes.reserveCapacity(w.bytes.count + 4 * t.values.count)
            for v in t.values { w.u32(v.bitPattern) }
        }
        return w.bytes
    }

    /// Decodes with every length checked against the bytes present: a corrupt count or shape
    /// is an error, never a huge allocation.
    public static func decode(_ bytes: [UInt8], path: String, section: String) throws -> [StoredTensor] {
        var r = ByteReader(bytes)
        func bad(_ m: String) -> CheckpointError { CheckpointError(path, section: section, m, advice: "the section is damaged") }
        guard let count = r.u32(), Int(count) <= r.remaining / 7 else { throw bad("bad tensor count") }
        var out: [StoredTensor] = []
        for i in 0..<Int(count) {
            guard let nl = r.u16(), let nameBytes = r.take(Int(nl)), let name = String(bytes: nameBytes, encoding: .utf8) else {
                throw bad("tensor \(i): bad name")
            }
            guard let rank = r.u8(), rank <= 8 else { throw bad("tensor '\(name)': bad rank") }
            var shape: [Int] = []
            for _ in 0..<Int(rank) { guard let d = r.u32() else { throw bad("tensor '\(name)': truncated shape") }; shape.append(Int(d)) }
            let n = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard n <= r.remaining / 4, let data = r.take(4 * n) else { throw bad("tensor '\(name)': shape \(shape) needs more bytes than the section holds") }
            var values = [Float](repeating: 0, count: n)
            data.withUnsafeBytes { src in
                for j in 0..<n { values[j] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))) }
            }
            out.append(StoredTensor(name: name, shape: shape, values: values))
        }
        guard r.remaining == 0 else { throw bad("\(r.remaining) trailing bytes") }
        return out
    }
}

/// Writes checkpoint files atomically: a temporary file in the same folder, flushed to disk,
/// renamed over the target, the folder flushed. A process killed at any moment leaves the old
/// complete file or the new complete file.
public enum CheckpointWriter {
    public struct Section {
        public var name: String
        public var bytes: [UInt8]
        public var codec: CheckpointFormat.Codec
        public init(_ name: String, _ bytes: [UInt8], codec: CheckpointFormat.Codec = .zstd) {
            self.name = name; self.bytes = bytes; self.codec = codec
        }
    }

    /// The encoded file.
    public static func encode(_ sections: [Section]) throws -> [UInt8] {
        precondition(sections.count <= CheckpointFormat.maxSections)
        var stored: [[UInt8]] = []
        var codecs: [CheckpointFormat.Codec] = []
        for s in sections {
            var bytes: [UInt8]
            switch s.codec {
            case .raw: bytes = s.bytes
            case .zstd: bytes = try Zstd.compress(s.bytes, level: 3)
            case .zstdShuffle4: bytes = try Zstd.compress(CheckpointFormat.shuffle4(s.bytes), level: 3)
            }
            // Sections that compression does not shrink (small JSON) are stored as they are.
            if s.codec != .raw && bytes.count >= s.bytes.count { bytes = s.bytes; codecs.append(.raw) } else { codecs.append(s.codec) }
            stored.append(bytes)
        }
        var w = ByteWriter()
        w.raw(CheckpointFormat.magic); w.u32(CheckpointFormat.version); w.u32(UInt32(sections.count)); w.zeros(8)
        var offset = UInt64(CheckpointFormat.headerSize + CheckpointFormat.entrySize * sections.count + 4)
        for ((s, st), codec) in zip(zip(sections, stored), codecs) {
            var name = Array(s.name.utf8.prefix(16)); name += repeatElement(0, count: 16 - name.count)
            w.raw(name); w.u32(codec.rawValue); w.u32(CheckpointFormat.crc32(s.bytes))
            w.u64(offset); w.u64(UInt64(st.count)); w.u64(UInt64(s.bytes.count)); w.u32(CheckpointFormat.crc32(st)); w.zeros(12)
            offset += UInt64(st.count)
        }
        w.u32(CheckpointFormat.crc32(w.bytes))
        for st in stored { w.raw(st) }
        return w.bytes
    }

    /// Writes the sections to `path` atomically.
    public static func write(_ sections: [Section], to path: String) throws {
        try writeAtomically(encode(sections), to: path)
    }

    /// Writes bytes to `path` through a temporary file and a rename.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let tmp = (dir as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())")
        func fail(_ what: String) -> CheckpointError {
            CheckpointError(path, "\(what): \(String(cString: strerror(errno)))", advice: "check the folder exists, is writable and has space; the previous checkpoint is untouched")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(tmp)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            while written < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + written, buf.count - written)
                if n <= 0 { return false }
                written += n
            }
            return true
        }
        if !ok || fsync(fd) != 0 { let e = fail("write failed"); close(fd); unlink(tmp); throw e }
        guard close(fd) == 0 else { let e = fail("close failed"); unlink(tmp); throw e }
        guard rename(tmp, path) == 0 else { let e = fail("rename failed"); unlink(tmp); throw e }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}

/// A checkpoint file opened for reading: the table is read and verified at once, sections on
/// demand, each checked against its CRC-32 before and after decoding.
public final class CheckpointFile {
    public struct Entry: Sendable {
        public var name: String
        public var codec: CheckpointFormat.Codec
        public var offset: UInt64, storedLength: UInt64, rawLength: UInt64
        public var storedCRC: UInt32, rawCRC: UInt32
    }

    public let path: String
    public let version: UInt32
    public let entries: [Entry]
    public let fileSize: UInt64
    private let handle: FileHandle

    public init(_ path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError(path, "not found", advice: "give a checkpoint file or a run folder") }
        // Only regular files: a FIFO or device would block or never end.
        var st = stat()
        guard stat(path, &st) == 0 else { throw CheckpointError(path, "cannot be read (\(String(cString: strerror(errno))))") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError(path, st.st_mode & S_IFMT == S_IFDIR ? "is a folder, not a checkpoint file" : "is not a regular file",
                                  advice: "give a checkpoint file or a run folder")
        }
        guard let h = FileHandle(forReadingAtPath: path) else { throw CheckpointError(path, "cannot be opened for reading") }
        handle = h
        fileSize = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: 0)
        let head = [UInt8](h.readData(ofLength: CheckpointFormat.headerSize))
        guard head.count == CheckpointFormat.headerSize else { throw CheckpointError(path, "truncated header (\(head.count) bytes)", advice: "the file is not a complete checkpoint; use an earlier epoch") }
        guard Array(head[0..<8]) == CheckpointFormat.magic else { throw CheckpointError(path, "not an nsas checkpoint (wrong magic)") }
        var r = ByteReader(head); _ = r.take(8)
        version = r.u32()!
        guard version == CheckpointFormat.version else {
            throw CheckpointError(path, "format version \(version); this nsas reads version \(CheckpointFormat.version)", advice: version > CheckpointFormat.version ? "use a newer nsas" : "convert it with the nsas that wrote it")
        }
        let count = Int(r.u32()!)
        guard count <= CheckpointFormat.maxSections else { throw CheckpointError(path, "claims \(count) sections", advice: "the header is damaged") }
        let tableBytes = [UInt8](h.readData(ofLength: count * CheckpointFormat.entrySize + 4))
        guard tableBytes.count == count * CheckpointFormat.entrySize + 4 else { throw CheckpointError(path, "truncated section table", advice: "the file is not a complete checkpoint; use an earlier epoch") }
        var t = ByteReader(tableBytes)
        var entries: [Entry] = []
        for _ in 0..<count {
            let nameBytes = Array(t.take(16)!).prefix { $0 != 0 }
            let codecRaw = t.u32()!, rawCRC = t.u32()!, offset = t.u64()!, stored = t.u64()!, raw = t.u64()!, storedCRC = t.u32()!
            _ = t.take(12)
            entries.append(Entry(name: String(decoding: nameBytes, as: UTF8.self), codec: CheckpointFormat.Codec(rawValue: codecRaw) ?? .raw,
                                 offset: offset, storedLength: stored, rawLength: raw, storedCRC: storedCRC, rawCRC: rawCRC))
            if CheckpointFormat.Codec(rawValue: codecRaw) == nil {
                throw CheckpointError(path, section: entries.last!.name, "unknown codec \(codecRaw)", advice: "the table is damaged or written by a newer nsas")
            }
        }
        let crc = t.u32()!
        guard crc == CheckpointFormat.crc32(head + tableBytes.dropLast(4)) else {
            throw CheckpointError(path, "the section table fails its checksum", advice: "the file is damaged; use an earlier epoch")
        }
        for e in entries {
            guard e.offset <= fileSize, e.storedLength <= fileSize - e.offset else {
                throw CheckpointError(path, section: e.name, "ends past the end of the file (\(fileSize) bytes)", advice: "the file is truncated; use an earlier epoch")
            }
            guard e.rawLength <= CheckpointFormat.maxRawBytes else { throw CheckpointError(path, section: e.name, "claims \(e.rawLength) bytes", advice: "the table is damaged") }
            // Declared sizes are bounded by what is stored before anything is allocated.
            let bound = e.codec == .raw ? e.storedLength : CheckpointFormat.maxRaw(stored: e.storedLength)
            guard e.rawLength <= bound else {
                throw CheckpointError(path, section: e.name, "claims \(e.rawLength) decoded bytes from \(e.storedLength) stored (at most \(bound))",
                                      advice: "the table is damaged")
            }
        }
        self.entries = entries
    }

    deinit { try? handle.close() }

    public var sectionNames: [String] { entries.map(\.name) }
    public func has(_ name: String) -> Bool { entries.contains { $0.name == name } }

    /// A section's decoded bytes, verified.
    public func read(_ name: String) throws -> [UInt8] {
        guard let e = entries.first(where: { $0.name == name }) else {
            throw CheckpointError(path, section: name, "no such section (the file has \(sectionNames.joined(separator: ", ")))")
        }
        try handle.seek(toOffset: e.offset)
        let stored = [UInt8](handle.readData(ofLength: Int(e.storedLength)))
        guard stored.count == Int(e.storedLength) else { throw CheckpointError(path, section: name, "truncated", advice: "use an earlier epoch") }
        guard CheckpointFormat.crc32(stored) == e.storedCRC else {
            throw CheckpointError(path, section: name, "fails its checksum", advice: "the file is damaged; use an earlier epoch")
        }
        var raw: [UInt8]
        switch e.codec {
        case .raw: raw = stored
        case .zstd, .zstdShuffle4:
            do { raw = try Zstd.decompress(stored, expectedSize: Int(e.rawLength)) } catch {
                throw CheckpointError(path, section: name, "\(error)", advice: "the file is damaged; use an earlier epoch")
            }
            if e.codec == .zstdShuffle4 { raw = CheckpointFormat.unshuffle4(raw) }
        }
        guard raw.count == Int(e.rawLength), CheckpointFormat.crc32(raw) == e.rawCRC else {
            throw CheckpointError(path, section: name, "decodes to bytes that fail their checksum", advice: "the file is damaged; use an earlier epoch")
        }
        return raw
    }

    /// Reads and checks every section.
    public func verify() throws { for e in entries { _ = try read(e.name) } }

    public func json<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(read(name))) } catch let e as CheckpointError { throw e } catch {
            throw CheckpointError(path, section: name, "not the expected JSON (\(error))")
        }
    }

    public func tensors(_ name: String) throws -> [StoredTensor] {
        try TensorCodec.decode(read(name), path: path, section: name)
    }
}
