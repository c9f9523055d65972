import Foundation
@testable import NSASCheckpoint
import Testing

/// A section table with a valid checksum that declares more decoded bytes than the stored bytes
/// can hold is refused before anything is allocated.
@Suite struct DeclaredLengthTests {
    @Test func declaredLengthsAreBoundedByStoredBytes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-declared-\(getpid()).nsasckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try CheckpointWriter.encode([.init("config", Array("{\"a\": 1}".utf8)), .init("weights", [UInt8](repeating: 7, count: 4096))])
        // First entry: name (16), codec, raw CRC, offset, stored length, raw length at 16 + 4 + 4 + 8 + 8.
        func patch(raw: UInt64) throws -> CheckpointError? {
            var b = bytes
            let entry = CheckpointFormat.headerSize, at = entry + 16 + 4 + 4 + 8 + 8
            for i in 0..<8 { b[at + i] = UInt8(raw >> (8 * UInt64(i)) & 0xff) }
            let count = 2, tableEnd = CheckpointFormat.headerSize + count * CheckpointFormat.entrySize
            let crc = CheckpointFormat.crc32(Array(b[0..<tableEnd]))
            for i in 0..<4 { b[tableEnd + i] = UInt8(crc >> (8 * UInt32(i)) & 0xff) }
            try Data(b).write(to: URL(fileURLWithPath: path))
            do { _ = try CheckpointFile(path); return nil } catch let e as CheckpointError { return e }
        }
        let e = try patch(raw: 15 << 30)
        #expect(e != nil)
        #expect("\(e!)".contains("decoded bytes from") || "\(e!)".contains("claims"), "\(e!)")
        // The unpatched file still opens (the helper rewrote only the length).
        bytes = try CheckpointWriter.encode([.init("config", Array("{\"a\": 1}".utf8))])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try CheckpointFile(path).read("config") == Array("{\"a\": 1}".utf8))
    }
}
