import Foundation
import NSASIO
import Testing

@Suite struct PNGTests {
    func tempPath(_ name: String) -> String {
        NSTemporaryDirectory() + "nsas-png-\(getpid())-\(name)"
    }

    @Test func roundTrip() throws {
        var px = [UInt8](repeating: 255, count: 7 * 5 * 4)
        for i in 0..<(7 * 5) { px[i * 4] = UInt8(i * 7); px[i * 4 + 1] = UInt8(255 - i) }
        let img = try RGBAImage(width: 7, height: 5, pixels: px)
        let path = tempPath("ok.png")
        defer { unlink(path) }
        try PNG.write(img, to: path)
        #expect(try PNG.read(path) == img)
    }

    @Test func errorsLeaveNoFile() throws {
        let img = try RGBAImage(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 16))
        #expect(throws: PNGError.self) { try PNG.write(img, to: "/nonexistent-dir/x.png") }
        #expect(throws: PNGError.self) { try RGBAImage(width: 2, height: 2, pixels: [0]) }
        let junk = tempPath("junk.png")
        defer { unlink(junk) }
        #expect(FileManager.default.createFile(atPath: junk, contents: Data("not a png".utf8)))
        do { _ = try PNG.read(junk); Issue.record("no error") } catch {
            #expect("\(error)".contains(junk))
        }
        #expect(throws: PNGError.self) { try PNG.read(tempPath("missing.png")) }
    }
}
