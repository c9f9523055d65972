import Foundation
@testable import NSASDraw
import NSASIO
import Testing

@Suite struct CanvasTests {
    @Test func textIsDrawnWhereItsBoxSays() throws {
        let c = try Canvas(width: 200, height: 60)
        let box = c.text("c_{k-2} sep_conv", at: Point(100, 30), size: 16)
        let img = try c.image()
        #expect(img.width == 200 && img.height == 60)
        #expect(darkPixels(img, x: box.x, y: box.y, w: box.w, h: box.h) > 40)
        // Nothing outside the box (the canvas is white elsewhere).
        #expect(darkPixels(img, x: 0, y: 0, w: 200, h: box.y - 2) == 0)
        #expect(darkPixels(img, x: box.maxX + 2, y: 0, w: 200, h: 60) == 0)
    }

    @Test func subscriptsAreSmallerAndLower() throws {
        let c = try Canvas(width: 10, height: 10)
        let plain = c.measure("ck-2", size: 20), sub = c.measure("c_{k-2}", size: 20)
        #expect(sub.width < plain.width)
        #expect(sub.descent > plain.descent)
        #expect(RichText("c_{k-2}x").runs.map(\.sub) == [false, true, false])
        #expect(RichText("a_{b").runs.map(\.text) == ["a", "_{b"])
    }

    @Test func scaleMultipliesPixels() throws {
        let c = try Canvas(width: 30, height: 20, scale: 2)
        c.fill(Rect(x: 10, y: 5, w: 10, h: 10), .black)
        let img = try c.image()
        #expect(img.width == 60 && img.height == 40)
        #expect(darkPixels(img, x: 10, y: 5, w: 10, h: 10, scale: 2) == 400)
    }

    @Test func fontErrorNamesThePackage() {
        guard case .failure(let e) = Font.resolve(env: nil, exists: { _ in false }) else { Issue.record("found a font"); return }
        #expect(e.description.contains("fonts-dejavu-core"))
        guard case .failure(let e2) = Font.resolve(env: "/nope/font.ttf", exists: { _ in false }) else { Issue.record("found"); return }
        #expect(e2.description.contains("/nope/font.ttf") && e2.description.contains("NSAS_FONT"))
        #expect((try? Font.resolve(env: nil, exists: { $0.hasSuffix("TTF/DejaVuSans.ttf") }).get()) == "/usr/share/fonts/TTF/DejaVuSans.ttf")
    }

    @Test func badPathsLeaveNoFile() throws {
        #expect(throws: (any Error).self) { try render(to: "/nonexistent-dir/x.png", width: 10, height: 10) { _ in } }
        #expect(throws: DrawError.self) { try render(to: "/nonexistent-dir/x.svg", width: 10, height: 10) { _ in } }
        let d = tempDir("bad")
        // A folder where the file should be: the rename fails; no temporary file stays.
        let target = d + "/taken.png"
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        #expect(throws: (any Error).self) { try render(to: target, width: 10, height: 10) { _ in } }
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["taken.png"])
    }

    @Test func svgIsWritten() throws {
        let d = tempDir("svg")
        try render(to: d + "/a.svg", width: 100, height: 40) { $0.text("skip_connect", at: Point(50, 20), size: 12) }
        let text = try String(contentsOfFile: d + "/a.svg", encoding: .utf8)
        #expect(text.contains("<svg") && text.contains("width=\"100"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["a.svg"])
    }
}
