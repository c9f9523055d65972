import Foundation
import NSASIO

func tempDir(_ name: String) -> String {
    let d = NSTemporaryDirectory() + "nsas-draw-\(getpid())-\(name)"
    try? FileManager.default.removeItem(atPath: d)
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// FNV-1a over the decoded pixels: a golden value that does not depend on zlib's compression.
func pixelHash(_ img: RGBAImage) -> UInt64 {
    var h: UInt64 = 0xcbf29ce484222325
    for b in img.pixels { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return h
}

/// Pixels in `r` (logical units times `scale`) that are clearly darker than white.
func darkPixels(_ img: RGBAImage, x: Double, y: Double, w: Double, h: Double, scale: Double = 1) -> Int {
    var n = 0
    let x0 = max(0, Int(x * scale)), x1 = min(img.width, Int((x + w) * scale))
    let y0 = max(0, Int(y * scale)), y1 = min(img.height, Int((y + h) * scale))
    guard x0 < x1, y0 < y1 else { return 0 }
    for yy in y0..<y1 {
        for xx in x0..<x1 {
            let o = (yy * img.width + xx) * 4
            if Int(img.pixels[o]) + Int(img.pixels[o + 1]) + Int(img.pixels[o + 2]) < 3 * 140 { n += 1 }
        }
    }
    return n
}

func nonWhite(_ img: RGBAImage) -> Int {
    stride(from: 0, to: img.pixels.count, by: 4).filter { img.pixels[$0] < 250 || img.pixels[$0 + 1] < 250 || img.pixels[$0 + 2] < 250 }.count
}
