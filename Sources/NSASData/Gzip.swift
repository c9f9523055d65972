import CZlib
import Foundation

/// The one place that calls zlib: gzip decompression with a bound on the output.
enum Gzip {
    static func isGzip(_ data: [UInt8]) -> Bool { data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b }

    /// Inflates a gzip stream; `limit` bounds the output so a corrupt or hostile file cannot exhaust memory.
    static func decompress(_ input: [UInt8], path: String, limit: Int = 1 << 30) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.unreadable(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw DataError.format(path: path, reason: "corrupt gzip data (\(msg))")
                    }
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
                if out.count > limit { throw DataError.format(path: path, reason: "decompresses to more than \(limit) bytes") }
                if status != Z_STREAM_END && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw DataError.format(path: path, reason: "truncated gzip data")
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}

/// Reads a whole file, inflating it when it is gzip.
func readFile(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw DataError.missing(path: path, hint: "check the path") }
    guard let bytes = readBytes(path) else { throw DataError.unreadable(path: path, reason: "permission denied or not a file") }
    return Gzip.isGzip(bytes) ? try Gzip.decompress(bytes, path: path) : bytes
}

/// A regular file's bytes with plain POSIX reads (nil if it cannot be opened or is no regular
/// file). Not `FileManager.contents(atPath:)`: this toolchain's Foundation leaks a 4 KB buffer on
/// every read of an empty file (found by fuzzing the IDX reader: 2 GB after 600,000 reads).
func readBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    var out = [UInt8](repeating: 0, count: Int(st.st_size))
    var done = 0
    while done < out.count {
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        done += n
    }
    return Array(out.prefix(done))
}
