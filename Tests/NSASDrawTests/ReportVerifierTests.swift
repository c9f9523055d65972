import Foundation
@testable import NSASDraw
import Testing

@Suite struct ReportVerifierTests {
    @Test func linksAndFilesAreChecked() throws {
        let d = tempDir("verify")
        #expect(ReportVerifier.links("see [a](x.png) and ![b](p/y.csv), [web](https://e.org) [c](#top)") == ["x.png", "p/y.csv"])
        try Figure([Chart(title: "t", xLabel: "x", yLabel: "y", series: [Series(name: "s", points: [Point(0, 0), Point(1, 1)], styleIndex: 0)])])
            .write(to: d + "/x.png")
        try FileManager.default.createDirectory(atPath: d + "/p", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: d + "/p/y.csv", contents: Data("arch,accuracy\nA,0.5\n".utf8)))
        #expect(FileManager.default.createFile(atPath: d + "/report.md", contents: Data("# r\n![t](x.png)\n[csv](p/y.csv)\n".utf8)))
        var seen = Set<String>()
        try ReportVerifier.verify(d + "/report.md", checked: &seen)
        #expect(seen.count == 3)
        // A missing link, a header-only CSV, a blank or broken PNG: each one error naming the file.
        #expect(FileManager.default.createFile(atPath: d + "/bad.md", contents: Data("[gone](nope.png)".utf8)))
        seen = []
        do { try ReportVerifier.verify(d + "/bad.md", checked: &seen); Issue.record("no error") } catch { #expect("\(error)".contains("nope.png")) }
        #expect(FileManager.default.createFile(atPath: d + "/h.csv", contents: Data("arch,accuracy\n".utf8)))
        seen = []
        #expect(throws: DrawError.self) { try ReportVerifier.verify(d + "/h.csv", checked: &seen) }
        try render(to: d + "/blank.png", width: 20, height: 20) { _ in }
        seen = []
        do { try ReportVerifier.verify(d + "/blank.png", checked: &seen); Issue.record("no error") } catch { #expect("\(error)".contains("blank")) }
        #expect(FileManager.default.createFile(atPath: d + "/junk.png", contents: Data("not a png".utf8)))
        seen = []
        #expect(throws: (any Error).self) { try ReportVerifier.verify(d + "/junk.png", checked: &seen) }
    }
}
