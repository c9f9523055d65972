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

/// Inputs the CSV fuzzer (Tools/fuzz csv) found: each parses to a table whose text parses back to it.
@Suite struct CSVFuzzRegressionTests {
    @Test(arguments: [
        "a,b\n\"x\r\ny\",2\n",      // a quoted CRLF (one Character) inside a field
        "a\n\"\"\nb\n",             // a lone empty field, quoted: a record, not a blank line
        "\"\u{FFFD}\u{FFFD}a\u{FFFD}\r\n\u{FFFD}\"\n",
    ])
    func roundTrips(_ text: String) throws {
        let t = try CSVTable.parse(text)
        #expect(try CSVTable.parse(t.text) == t, "\(t)")
    }
}

extension CSVFuzzRegressionTests {
    /// A combining mark (U+07AF) right after a quote: the quote is still a delimiter.
    @Test func combiningMarkAfterAQuote() throws {
        let t = try CSVTable.parse("\u{07AF}\u{FFFD}\"\n")
        #expect(t.header == ["\u{07AF}\u{FFFD}\""])
        #expect(try CSVTable.parse(t.text) == t)
        #expect(try CSVTable.parse("a,b\n\"\u{0301}x\",2\n").rows == [["\u{0301}x", "2"]])
    }
}

extension CSVFuzzRegressionTests {
    @Test func quotesInsideAnUnquotedFieldBeforeACombiningMark() throws {
        let text = "T2\u{0},E\u{0}\"kn\"\u{0610}\""
        let t = try CSVTable.parse(text)
        #expect(try CSVTable.parse(t.text) == t, "\(t.header) -> \(t.text.unicodeScalars.map { String($0.value, radix: 16) })")
    }
}
