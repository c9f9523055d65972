import NSASAnalysis
import Testing

@Suite struct CSVTests {
    @Test func quotedFieldsRoundTrip() throws {
        let t = CSVTable(header: ["arch", "accuracy"], rows: [["Genotype(normal=[('a', 0)], x=\"q\")", "0.5"], ["plain", "0.25"]])
        let back = try CSVTable.parse(t.text)
        #expect(back == t)
        #expect(try back.column("accuracy") == 1)
        #expect(throws: CSVTable.CSVError.self) { try back.column("loss") }
    }

    @Test func errorsNameTheLine() {
        #expect(throws: CSVTable.CSVError.ragged(path: "f", line: 3, got: 1, want: 2)) { try CSVTable.parse("a,b\n1,2\n3\n", path: "f") }
        #expect(throws: CSVTable.CSVError.unterminated("f")) { try CSVTable.parse("a\n\"open\n", path: "f") }
        #expect(throws: CSVTable.CSVError.empty("f")) { try CSVTable.parse("", path: "f") }
    }
}
