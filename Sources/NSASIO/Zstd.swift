import CZstd
import Foundation

/// Errors from libzstd, each naming what failed.
public enum ZstdError: Error, CustomStringConvertible, Equatable {
    case compress(String)
    case decompress(String)
    case sizeMismatch(expected: Int, got: Int)
    case tooLarge(declared: UInt64, limit: Int)

    public var description: String {
        switch self {
        case .compress(let m): return "zstd compression failed: \(m)"
        case .decompress(let m): return "zstd decompression failed: \(m) (the data is corrupt or truncated)"
        case .sizeMismatch(let e, let g): return "zstd data decompressed to \(g) bytes, expected \(e)"
        case .tooLarge(let d, let l): return "zstd frame declares \(d) bytes, over the limit of \(l)"
        }
    }
}

/// The one place that calls libzstd: compression and verified decompression.
public enum Zstd {
    /// Compresses bytes at a level (1...19; 3 is zstd's default).
    public static func compress(_ input: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, input.count, level)
            }
        }
        if ZSTD_isError(written) != 0 { throw ZstdError.compress(String(cString: ZSTD_getErrorName(written))) }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses one frame that must hold exactly `expectedSize` bytes; never allocates more
    /// than that, so a corrupt size field cannot blow up memory.
    public static func decompress(_ input: [UInt8], expectedSize: Int) throws -> [UInt8] {
        guard expectedSize >= 0 else { throw ZstdError.sizeMismatch(expected: expectedSize, got: 0) }
        let declared = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, input.count) }
        if declared == ZSTD_CONTENTSIZE_ERROR { throw ZstdError.decompress("not a zstd frame") }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(expectedSize) {
            if declared > UInt64(expectedSize) { throw ZstdError.tooLarge(declared: declared, limit: expectedSize) }
            throw ZstdError.sizeMismatch(expected: expectedSize, got: Int(declared))
        }
        var out = [UInt8](repeating: 0, count: max(expectedSize, 1))
        let got = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_decompress(dst.baseAddress, expectedSize, src.baseAddress, input.count)
            }
        }
        if ZSTD_isError(got) != 0 { throw ZstdError.decompress(String(cString: ZSTD_getErrorName(got))) }
        if got != expectedSize { throw ZstdError.sizeMismatch(expected: expectedSize, got: got) }
        out.removeSubrange(expectedSize...)
        return out
    }
}
