import CPNGShim
import Foundation

/// Errors from libpng and the file system around it.
public enum PNGError: Error, CustomStringConvertible, Equatable {
    case open(path: String, reason: String)
    case write(path: String, reason: String)
    case read(path: String, reason: String)
    case badImage(String)

    public var description: String {
        switch self {
        case .open(let p, let r): return "\(p): cannot open: \(r)"
        case .write(let p, let r): return "\(p): PNG write failed: \(r); no file was left behind"
        case .read(let p, let r): return "\(p): not a readable PNG: \(r)"
        case .badImage(let m): return "PNG image: \(m)"
        }
    }
}

/// An 8-bit RGBA image.
public struct RGBAImage: Equatable, Sendable {
    public var width: Int, height: Int
    public var pixels: [UInt8]
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, pixels.count == width * height * 4 else {
            throw PNGError.badImage("\(width)x\(height) needs \(width * height * 4) bytes, got \(pixels.count)")
        }
        self.width = width; self.height = height; self.pixels = pixels
    }
}

/// The one place that calls libpng (through CPNGShim, which turns its longjmp into return codes).
public enum PNG {
    /// Writes atomically: a temporary file in the same folder, renamed over `path` on success.
    public static func write(_ image: RGBAImage, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else { throw PNGError.open(path: path, reason: String(cString: strerror(errno))) }
        var err = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { px in
            nsas_png_write_rgba(f, px.baseAddress, UInt32(image.width), UInt32(image.height), &err, err.count)
        }
        let closed = fclose(f)
        if rc != 0 || closed != 0 {
            unlink(tmp)
            let reason = rc != 0 ? String(cString: err) : "close failed: \(String(cString: strerror(errno)))"
            throw PNGError.write(path: path, reason: reason)
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno)); unlink(tmp)
            throw PNGError.write(path: path, reason: reason)
        }
    }

    public static func read(_ path: String) throws -> RGBAImage {
        guard let f = fopen(path, "rb") else { throw PNGError.open(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var err = [CChar](repeating: 0, count: 256)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var w: UInt32 = 0, h: UInt32 = 0
        let rc = nsas_png_read_rgba(f, &out, &w, &h, &err, err.count)
        guard rc == 0, let out else { throw PNGError.read(path: path, reason: String(cString: err)) }
        defer { nsas_png_free(out) }
        return try RGBAImage(width: Int(w), height: Int(h),
                             pixels: Array(UnsafeBufferPointer(start: out, count: Int(w) * Int(h) * 4)))
    }
}
