import CCairo
import Foundation
import NSASIO

/// Errors from drawing: a missing font, a layout that cannot be made legible, or Cairo/libpng
/// failing to write.
public enum DrawError: Error, CustomStringConvertible, Equatable {
    case font(String)
    case layout(String)
    case cairo(path: String, reason: String)
    case input(String)

    public var description: String {
        switch self {
        case .font(let m): return m
        case .layout(let m): return "layout: \(m)"
        case .cairo(let p, let r): return "\(p): drawing failed: \(r); no file was left behind"
        case .input(let m): return m
        }
    }
}

public struct Point: Equatable, Sendable { public var x, y: Double; public init(_ x: Double, _ y: Double) { self.x = x; self.y = y } }

public struct Rect: Equatable, Sendable, CustomStringConvertible {
    public var x, y, w, h: Double
    public init(x: Double, y: Double, w: Double, h: Double) { self.x = x; self.y = y; self.w = w; self.h = h }
    public init(center c: Point, w: Double, h: Double) { self.init(x: c.x - w / 2, y: c.y - h / 2, w: w, h: h) }
    public var maxX: Double { x + w }
    public var maxY: Double { y + h }
    public var center: Point { Point(x + w / 2, y + h / 2) }
    public func insetBy(_ d: Double) -> Rect { Rect(x: x + d, y: y + d, w: w - 2 * d, h: h - 2 * d) }
    /// True when the two rectangles share interior area (touching edges do not count).
    public func intersects(_ o: Rect) -> Bool { x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY }
    public func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }
    public var description: String { String(format: "(%.1f,%.1f %.1fx%.1f)", x, y, w, h) }
}

public struct Color: Equatable, Sendable {
    public var r, g, b, a: Double
    public init(_ r: Double, _ g: Double, _ b: Double, _ a: Double = 1) { self.r = r; self.g = g; self.b = b; self.a = a }
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(Double((hex >> 16) & 255) / 255, Double((hex >> 8) & 255) / 255, Double(hex & 255) / 255, alpha)
    }
    public static let black = Color(0, 0, 0), white = Color(1, 1, 1)
    public static let grey = Color(hex: 0x808080), lightGrey = Color(hex: 0xdddddd)
    /// Perceived lightness (Rec. 601 luma), what a greyscale print shows.
    public var luma: Double { 0.299 * r + 0.587 * g + 0.114 * b }
}

/// The font every drawing uses: DejaVu Sans loaded through FreeType from a fixed file, so that
/// output does not depend on the fontconfig set-up and is byte-identical run to run.
final class Font: @unchecked Sendable {
    static let searchPaths = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                              "/usr/share/fonts/TTF/DejaVuSans.ttf",
                              "/usr/local/share/fonts/DejaVuSans.ttf"]
    let face: OpaquePointer
    /// DejaVu Sans Bold beside the regular file, or the regular face when it is missing.
    let bold: OpaquePointer

    private init(path: String) throws {
        var lib: FT_Library?
        guard FT_Init_FreeType(&lib) == 0, let lib else { throw DrawError.font("FreeType failed to initialise") }
        func load(_ path: String) -> OpaquePointer? {
            var ftFace: FT_Face?
            guard FT_New_Face(lib, path, 0, &ftFace) == 0, let ftFace else { return nil }
            return cairo_ft_font_face_create_for_ft_face(ftFace, 0)
        }
        guard let regular = load(path) else { throw DrawError.font("\(path): not a font FreeType can read") }
        face = regular
        let boldPath = path.replacingOccurrences(of: "DejaVuSans.ttf", with: "DejaVuSans-Bold.ttf")
        bold = (boldPath != path && FileManager.default.fileExists(atPath: boldPath) ? load(boldPath) : nil) ?? regular
        // The FreeType library and faces live as long as the process: the font is a shared singleton.
    }

    nonisolated(unsafe) private static var cached: Result<Font, DrawError>?
    private static let lock = NSLock()

    /// The font file to use: `env` (NSAS_FONT) when set, else the first of `searchPaths` that exists.
    static func resolve(env: String?, exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> Result<String, DrawError> {
        if let env {
            return exists(env) ? .success(env) : .failure(.font("font not found: \(env) (from NSAS_FONT)"))
        }
        if let path = searchPaths.first(where: exists) { return .success(path) }
        return .failure(.font("font not found: \(searchPaths[0]); install the Debian package fonts-dejavu-core (apt-get install fonts-dejavu-core) or set NSAS_FONT to a .ttf file"))
    }

    /// The drawing font: `NSAS_FONT` if set, else DejaVu Sans from Debian's fonts-dejavu-core.
    static func shared() throws -> Font {
        lock.lock(); defer { lock.unlock() }
        if let cached { return try cached.get() }
        let result: Result<Font, DrawError>
        switch resolve(env: ProcessInfo.processInfo.environment["NSAS_FONT"]) {
        case .success(let path):
            do { result = .success(try Font(path: path)) } catch let e as DrawError { result = .failure(e) } catch { result = .failure(.font("\(error)")) }
        case .failure(let e): result = .failure(e)
        }
        cached = result
        return try result.get()
    }
}

/// Text with DARTS-style subscripts: `c_{k-2}` draws a `c` with a smaller, lowered `k-2`.
struct RichText {
    var runs: [(text: String, sub: Bool)]
    init(_ s: String) {
        var runs: [(String, Bool)] = []
        var rest = Substring(s)
        while let r = rest.range(of: "_{") {
            if r.lowerBound > rest.startIndex { runs.append((String(rest[..<r.lowerBound]), false)) }
            let after = rest[r.upperBound...]
            if let close = after.firstIndex(of: "}") {
                runs.append((String(after[..<close]), true))
                rest = after[after.index(after: close)...]
            } else {
                runs.append((String(rest[r.lowerBound...]), false)); rest = ""
            }
        }
        if !rest.isEmpty { runs.append((String(rest), false)) }
        self.runs = runs
    }
    static let subScale = 0.72, subDrop = 0.28
}

public enum HAlign: Sendable { case left, center, right }
public enum VAlign: Sendable { case top, center, baseline, bottom }

/// A drawing target in logical units (1 unit = 1 pixel at scale 1): a Cairo image surface that
/// is written as PNG through libpng, or a Cairo SVG surface. Anti-aliased paths and text on white.
public final class Canvas {
    public let width: Double, height: Double, scale: Double
    let surface: OpaquePointer
    let cr: OpaquePointer
    let font: Font
    let svgTemp: String?
    let svgPath: String?

    /// A raster canvas (`scale` multiplies the pixel size, e.g. 2 for print).
    public init(width: Double, height: Double, scale: Double = 1) throws {
        self.width = width; self.height = height; self.scale = scale
        font = try Font.shared()
        let pw = Int32((width * scale).rounded(.up)), ph = Int32((height * scale).rounded(.up))
        guard pw > 0, ph > 0, pw <= 32767, ph <= 32767 else { throw DrawError.input("picture size \(pw)x\(ph) out of range") }
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, pw, ph)
        cr = cairo_create(surface)
        svgTemp = nil; svgPath = nil
        try setUp()
    }

    /// An SVG canvas writing to `path` (through a temporary file renamed by `finishSVG`).
    public init(svgWidth width: Double, height: Double, scale: Double = 1, path: String) throws {
        self.width = width; self.height = height; self.scale = scale
        font = try Font.shared()
        let tmp = path + ".tmp-\(getpid())"
        surface = cairo_svg_surface_create(tmp, width * scale, height * scale)
        cr = cairo_create(surface)
        svgTemp = tmp; svgPath = path
        if cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS {
            let reason = String(cString: cairo_status_to_string(cairo_surface_status(surface)))
            cairo_destroy(cr); cairo_surface_destroy(surface); unlink(tmp)
            throw DrawError.cairo(path: path, reason: reason)
        }
        try setUp()
    }

    private func setUp() throws {
        cairo_scale(cr, scale, scale)
        cairo_set_font_face(cr, font.face)
        let opts = cairo_font_options_create()
        cairo_font_options_set_hint_style(opts, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(opts, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_antialias(opts, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(cr, opts)
        cairo_font_options_destroy(opts)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        fill(Rect(x: 0, y: 0, w: width, h: height), .white)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
        if let svgTemp { unlink(svgTemp) }   // only still there if finishSVG was never called or failed
    }

    // MARK: shapes

    func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a) }

    public func fill(_ r: Rect, _ c: Color, radius: Double = 0) {
        path(r, radius: radius); setColor(c); cairo_fill(cr)
    }

    public func stroke(_ r: Rect, _ c: Color, width: Double = 1, radius: Double = 0) {
        path(r, radius: radius); setColor(c); cairo_set_line_width(cr, width); cairo_stroke(cr)
    }

    private func path(_ r: Rect, radius: Double) {
        guard radius > 0 else { cairo_rectangle(cr, r.x, r.y, r.w, r.h); return }
        let rad = min(radius, r.w / 2, r.h / 2)
        cairo_new_sub_path(cr)
        cairo_arc(cr, r.maxX - rad, r.y + rad, rad, -Double.pi / 2, 0)
        cairo_arc(cr, r.maxX - rad, r.maxY - rad, rad, 0, Double.pi / 2)
        cairo_arc(cr, r.x + rad, r.maxY - rad, rad, Double.pi / 2, Double.pi)
        cairo_arc(cr, r.x + rad, r.y + rad, rad, Double.pi, 3 * Double.pi / 2)
        cairo_close_path(cr)
    }

    /// A polyline; `dash` in logical units (empty: solid).
    public func line(_ pts: [Point], _ c: Color, width: Double = 1, dash: [Double] = []) {
        guard let first = pts.first, pts.count > 1 else { return }
        cairo_move_to(cr, first.x, first.y)
        for p in pts.dropFirst() { cairo_line_to(cr, p.x, p.y) }
        setColor(c); cairo_set_line_width(cr, width)
        dash.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32(dash.count), 0) }
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
    }

    public func polygon(_ pts: [Point], fill c: Color, stroke s: Color? = nil, width: Double = 1) {
        guard let first = pts.first else { return }
        cairo_move_to(cr, first.x, first.y)
        for p in pts.dropFirst() { cairo_line_to(cr, p.x, p.y) }
        cairo_close_path(cr)
        setColor(c)
        if let s { cairo_fill_preserve(cr); setColor(s); cairo_set_line_width(cr, width); cairo_stroke(cr) } else { cairo_fill(cr) }
    }

    public func circle(_ p: Point, radius: Double, fill c: Color, stroke s: Color? = nil, width: Double = 1) {
        cairo_new_sub_path(cr)
        cairo_arc(cr, p.x, p.y, radius, 0, 2 * Double.pi)
        setColor(c)
        if let s { cairo_fill_preserve(cr); setColor(s); cairo_set_line_width(cr, width); cairo_stroke(cr) } else { cairo_fill(cr) }
    }

    /// A filled arrowhead whose tip is at `tip`, pointing along `from -> tip`.
    public func arrowhead(from: Point, tip: Point, _ c: Color, length: Double = 9, halfWidth: Double = 4) {
        let dx = tip.x - from.x, dy = tip.y - from.y, n = max(1e-9, (dx * dx + dy * dy).squareRoot())
        let ux = dx / n, uy = dy / n
        let base = Point(tip.x - ux * length, tip.y - uy * length)
        polygon([tip, Point(base.x - uy * halfWidth, base.y + ux * halfWidth), Point(base.x + uy * halfWidth, base.y - ux * halfWidth)], fill: c)
    }

    // MARK: text

    /// Width, ascent and descent of `text` at `size` (subscripts included).
    public func measure(_ text: String, size: Double, bold: Bool = false) -> (width: Double, ascent: Double, descent: Double) {
        cairo_set_font_face(cr, bold ? font.bold : font.face)
        defer { cairo_set_font_face(cr, font.face) }
        var w = 0.0, asc = 0.0, desc = 0.0
        for run in RichText(text).runs {
            let s = run.sub ? size * RichText.subScale : size
            cairo_set_font_size(cr, s)
            var te = cairo_text_extents_t()
            cairo_text_extents(cr, run.text, &te)
            var fe = cairo_font_extents_t()
            cairo_font_extents(cr, &fe)
            w += te.x_advance
            let drop = run.sub ? size * RichText.subDrop : 0
            asc = max(asc, fe.ascent - drop); desc = max(desc, fe.descent + drop)
        }
        return (w, asc, desc)
    }

    /// The box `text` occupies when drawn with `draw(text:...)` at these arguments.
    public func box(_ text: String, at p: Point, size: Double, h: HAlign = .center, v: VAlign = .center, bold: Bool = false) -> Rect {
        Self.place(measure(text, size: size, bold: bold), at: p, h: h, v: v)
    }

    /// The box of measured text anchored at p.
    static func place(_ m: (width: Double, ascent: Double, descent: Double), at p: Point, h: HAlign, v: VAlign) -> Rect {
        let x: Double = h == .left ? p.x : h == .center ? p.x - m.width / 2 : p.x - m.width
        let top: Double
        switch v {
        case .top: top = p.y
        case .center: top = p.y - (m.ascent + m.descent) / 2
        case .baseline: top = p.y - m.ascent
        case .bottom: top = p.y - m.ascent - m.descent
        }
        return Rect(x: x, y: top, w: m.width, h: m.ascent + m.descent)
    }

    /// Draws `text` and returns its box. `rotated` turns it 90 degrees counter-clockwise about `p`
    /// (for a y-axis title); the box returned is then the rotated one.
    @discardableResult
    public func text(_ text: String, at p: Point, size: Double, _ c: Color = .black, h: HAlign = .center, v: VAlign = .center,
                     bold: Bool = false, rotated: Bool = false) -> Rect {
        let m = measure(text, size: size, bold: bold)
        let b = Self.place(m, at: rotated ? Point(0, 0) : p, h: h, v: v)
        cairo_save(cr)
        cairo_set_font_face(cr, bold ? font.bold : font.face)
        if rotated { cairo_translate(cr, p.x, p.y); cairo_rotate(cr, -Double.pi / 2) }
        var x = b.x
        let baseline = b.y + m.ascent
        setColor(c)
        for run in RichText(text).runs {
            let s = run.sub ? size * RichText.subScale : size
            cairo_set_font_size(cr, s)
            cairo_move_to(cr, x, baseline + (run.sub ? size * RichText.subDrop : 0))
            cairo_show_text(cr, run.text)
            var te = cairo_text_extents_t()
            cairo_text_extents(cr, run.text, &te)
            x += te.x_advance
        }
        cairo_restore(cr)
        cairo_set_font_face(cr, font.face)
        if rotated { return Rect(x: p.x + b.y, y: p.y - b.maxX, w: b.h, h: b.w) }
        return b
    }

    // MARK: output

    /// The picture as 8-bit RGBA (raster canvases only).
    public func image() throws -> RGBAImage {
        guard svgPath == nil else { throw DrawError.input("an SVG canvas has no pixels") }
        cairo_surface_flush(surface)
        let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else { throw DrawError.input("Cairo returned no pixel data") }
        var px = [UInt8](repeating: 0, count: w * h * 4)
        for y in 0..<h {
            let row = data + y * stride
            for x in 0..<w {
                // Cairo ARGB32 is a native-endian 32-bit word with premultiplied colour.
                let v = row.advanced(by: x * 4).withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee }
                let a = UInt32((v >> 24) & 255)
                func un(_ c: UInt32) -> UInt8 { a == 0 ? 0 : UInt8(min(255, (c * 255 + a / 2) / a)) }
                let o = (y * w + x) * 4
                px[o] = un((v >> 16) & 255); px[o + 1] = un((v >> 8) & 255); px[o + 2] = un(v & 255); px[o + 3] = UInt8(a)
            }
        }
        return try RGBAImage(width: w, height: h, pixels: px)
    }

    /// Writes the raster picture as PNG through libpng (atomically: no partial file on failure).
    public func writePNG(_ path: String) throws {
        try PNG.write(try image(), to: path)
    }

    /// Finishes an SVG canvas and moves the file into place.
    public func finishSVG() throws {
        guard let svgPath, let svgTemp else { throw DrawError.input("not an SVG canvas") }
        cairo_surface_finish(surface)
        let st = cairo_surface_status(surface)
        guard st == CAIRO_STATUS_SUCCESS else {
            unlink(svgTemp)
            throw DrawError.cairo(path: svgPath, reason: String(cString: cairo_status_to_string(st)))
        }
        guard rename(svgTemp, svgPath) == 0 else {
            let reason = String(cString: strerror(errno)); unlink(svgTemp)
            throw DrawError.cairo(path: svgPath, reason: reason)
        }
    }
}

/// Renders a picture of logical size `width` x `height` to `path`: PNG, or SVG when the path ends
/// in `.svg`. `draw` receives the canvas.
public func render(to path: String, width: Double, height: Double, scale: Double = 1, _ draw: (Canvas) throws -> Void) throws {
    if path.lowercased().hasSuffix(".svg") {
        let c = try Canvas(svgWidth: width, height: height, scale: scale, path: path)
        try draw(c)
        try c.finishSVG()
    } else {
        let c = try Canvas(width: width, height: height, scale: scale)
        try draw(c)
        try c.writePNG(path)
    }
}
