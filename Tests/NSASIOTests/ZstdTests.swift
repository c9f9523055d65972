import NSASIO
import Testing

@Suite struct ZstdTests {
    @Test func roundTrip() throws {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251 * 7) }
        let packed = try Zstd.compress(data)
        #expect(packed.count < data.count / 10)
        #expect(try Zstd.decompress(packed, expectedSize: data.count) == data)
        #expect(try Zstd.decompress(Zstd.compress([]), expectedSize: 0) == [])
    }

    @Test func corruptionIsAnError() throws {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let packed = try Zstd.compress(data)
        #expect(throws: ZstdError.self) { try Zstd.decompress(Array(packed.prefix(packed.count / 2)), expectedSize: data.count) }
        #expect(throws: ZstdError.self) { try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8], expectedSize: 10) }
        #expect(throws: ZstdError.self) { try Zstd.decompress(packed, expectedSize: data.count - 1) }
        // Flip bytes in the body: never a crash, either an error or (rarely) different bytes.
        for i in stride(from: 6, to: packed.count, by: max(1, packed.count / 40)) {
            var bad = packed; bad[i] ^= 0x5A
            _ = try? Zstd.decompress(bad, expectedSize: data.count)
        }
    }
}
