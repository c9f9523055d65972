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
        // By Unicode scalars, not Characters: the delimiters are ASCII, and a combining mark after a
        // quote or comma would otherwise merge with it into one Character.
        var records: [[String]] = [], field = String.UnicodeScalarView(), record: [String] = [], inQuotes = false
        // A line holding only `""` is a record of one empty field, not a blank line.
        var quotedInRecord = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? { if let p = pending { pending = nil; return p }; return scalars.next() }
        func endField() { record.append(String(field)); field = String.UnicodeScalarView() }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() { if n == "\"" { field.append("\"") } else { inQuotes = false; pending = n } } else { inQuotes = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                inQuotes = true; quotedInRecord = true
            } else if c == "," {
                endField()
            } else if c == "\n" || c == "\r" {
                if c == "\r", let n = next(), n != "\n" { pending = n }
                endField()
                if !(record.count == 1 && record[0].isEmpty) || quotedInRecord { records.append(record) }
                record = []; quotedInRecord = false
            } else { field.append(c) }
        }
        if inQuotes { throw CSVError.unterminated(path) }
        if !field.isEmpty || !record.isEmpty { endField(); records.append(record) }
        guard let header = records.first else { throw CSVError.empty(path) }
        for (i, r) in records.enumerated().dropFirst() where r.count != header.count {
            throw CSVError.ragged(path: path, line: i + 1, got: r.count, want: header.count)
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()))
    }

    public static func read(_ path: String) throws -> CSVTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CSVError.unreadable(path) }
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
