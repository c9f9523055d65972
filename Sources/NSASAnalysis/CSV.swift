import Foundation

/// A CSV table with a header row (RFC 4180 quoting: fields with commas, quotes or newlines are
/// quoted, quotes doubled). Genotype text contains commas, so this matters.
public struct CSVTable: Equatable, Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) { self.header = header; self.rows = rows }

    public enum CSVError: Error, CustomStringConvertible, Equatable {
        case unreadable(String), empty(String), ragged(path: String, line: Int, got: Int, want: Int), unterminated(String)
        case missingColumn(path: String, column: String, have: [String])
        case notANumber(path: String, line: Int, column: String, value: String)
        public var description: String {
            switch self {
            case .unreadable(let p): return "\(p): cannot be read"
            case .empty(let p): return "\(p): no header row"
            case .ragged(let p, let l, let g, let w): return "\(p):\(l): \(g) fields, the header has \(w)"
            case .unterminated(let p): return "\(p): a quoted field is not closed"
            case .missingColumn(let p, let c, let h): return "\(p): no column '\(c)' (columns: \(h.joined(separator: ", ")))"
            case .notANumber(let p, let l, let c, let v): return "\(p):\(l): column '\(c)' holds '\(v)', not a finite number"
            }
        }
    }

    /// Parses CSV text; `path` names it in errors.
    public static func parse(_ text: String, path: String = "<csv>") throws -> CSVTable {
        var text = text
        return try text.withUTF8 { try parse(utf8: $0, path: path) }
    }

    /// Parses UTF-8 bytes. The delimiters are ASCII and no byte of a multi-byte UTF-8 sequence is
    /// ASCII, so splitting bytes splits the text exactly where splitting Unicode scalars would (a
    /// combining mark after a quote or comma never merges with it, as it would in Characters).
    static func parse(utf8 b: UnsafeBufferPointer<UInt8>, path: String) throws -> CSVTable {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var records: [[String]] = [], record: [String] = []
        var quoted: [UInt8] = []   // a quoted field's bytes, doubled quotes undone
        // A line holding only `""` is a record of one empty field, not a blank line.
        var quotedInRecord = false
        var i = 0, start = 0, inQuotes = false, fieldIsQuoted = false
        let n = b.count
        func endField(_ end: Int) {
            if fieldIsQuoted {
                quoted.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<end]))   // text after the closing quote
                record.append(String(decoding: quoted, as: UTF8.self)); quoted.removeAll(keepingCapacity: true)
            } else {
                record.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
            }
            fieldIsQuoted = false
        }
        while i < n {
            let c = b[i]
            if inQuotes {
                if c == quote {
                    if i + 1 < n && b[i + 1] == quote { quoted.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<(i + 1)])); i += 2; start = i; continue }
                    quoted.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
                    inQuotes = false; start = i + 1
                }
                i += 1
            } else if c == quote && i == start && !fieldIsQuoted {
                inQuotes = true; fieldIsQuoted = true; quotedInRecord = true; i += 1; start = i
            } else if c == comma {
                endField(i); i += 1; start = i
            } else if c == lf || c == cr {
                endField(i)
                i += (c == cr && i + 1 < n && b[i + 1] == lf) ? 2 : 1
                start = i
                if !(record.count == 1 && record[0].isEmpty) || quotedInRecord { records.append(record) }
                record = []; quotedInRecord = false
            } else { i += 1 }
        }
        if inQuotes { throw CSVError.unterminated(path) }
        if start < n || fieldIsQuoted || !record.isEmpty { endField(n); records.append(record) }
        guard let header = records.first else { throw CSVError.empty(path) }
        for (i, r) in records.enumerated().dropFirst() where r.count != header.count {
            throw CSVError.ragged(path: path, line: i + 1, got: r.count, want: header.count)
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()))
    }

    public static func read(_ path: String) throws -> CSVTable {
        guard let data = FileManager.default.contents(atPath: path), let text = String(validating: data, as: UTF8.self) else {
            throw CSVError.unreadable(path)
        }
        return try parse(text, path: path)
    }

    public func column(_ name: String, path: String = "<csv>") throws -> Int {
        guard let i = header.firstIndex(of: name) else { throw CSVError.missingColumn(path: path, column: name, have: header) }
        return i
    }

    /// The text, quoting fields that need it.
    public var text: String {
        // Quoted: fields with a comma, quote or any line break (\r\n is one Character), and a lone empty field.
        func q(_ f: String, alone: Bool) -> String {
            guard f.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || (alone && f.isEmpty) else { return f }
            // Quotes doubled scalar by scalar (a quote and a following combining mark are one Character).
            var out = String.UnicodeScalarView()
            out.append("\"")
            for c in f.unicodeScalars { out.append(c); if c == "\"" { out.append("\"") } }
            out.append("\"")
            return String(out)
        }
        return ([header] + rows).map { r in r.map { q($0, alone: r.count == 1) }.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
