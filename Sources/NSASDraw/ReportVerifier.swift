import Foundation
import NSASAnalysis
import NSASIO

/// Checks that the files of a report parse: what `nsas-draw verify` and the demo's end-to-end
/// check run.
public enum ReportVerifier {
    /// Verifies `path` by its extension; a Markdown file also verifies every local file it links.
    public static func verify(_ path: String, checked: inout Set<String>) throws {
        let std = (path as NSString).standardizingPath
        guard checked.insert(std).inserted else { return }
        guard let data = FileManager.default.contents(atPath: path) else { throw DrawError.input("\(path): missing or unreadable") }
        guard !data.isEmpty else { throw DrawError.input("\(path): empty") }
        switch (path as NSString).pathExtension.lowercased() {
        case "png":
            let img = try PNG.read(path)
            let px = img.pixels
            if px.indices.allSatisfy({ px[$0] == px[$0 % 4] }) { throw DrawError.input("\(path): blank picture (\(img.width)x\(img.height), one colour)") }
        case "svg":
            let text = String(decoding: data, as: UTF8.self)
            guard text.contains("<svg"), text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("</svg>") else {
                throw DrawError.input("\(path): not a complete SVG document")
            }
        case "csv":
            let t = try CSVTable.parse(String(decoding: data, as: UTF8.self), path: path)
            guard !t.rows.isEmpty else { throw DrawError.input("\(path): header only, no rows") }
        case "md":
            let dir = (path as NSString).deletingLastPathComponent
            for link in links(String(decoding: data, as: UTF8.self)) {
                try verify((dir as NSString).appendingPathComponent(link), checked: &checked)
            }
        default:
            break
        }
    }

    /// Local targets of Markdown links and images: `[text](target)`, no URLs or anchors.
    public static func links(_ markdown: String) -> [String] {
        var out: [String] = []
        var rest = Substring(markdown)
        while let r = rest.range(of: "](") {
            let after = rest[r.upperBound...]
            guard let close = after.firstIndex(of: ")") else { break }
            let target = String(after[..<close]).trimmingCharacters(in: .whitespaces)
            if !target.isEmpty, !target.contains("://"), !target.hasPrefix("#"), !target.hasPrefix("mailto:") { out.append(target) }
            rest = after[after.index(after: close)...]
        }
        return out
    }
}
