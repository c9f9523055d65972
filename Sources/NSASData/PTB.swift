import Foundation

/// A word-level corpus in the Penn Treebank layout (Mikolov's `ptb.train.txt`, `ptb.valid.txt`,
/// `ptb.test.txt`): whitespace-separated words, `<eos>` appended to every line, the vocabulary
/// taken from the training file in order of first appearance (ids are stable for a given file).
/// Words of the validation and test files missing from it are an error naming file and line
/// (PTB maps rare words to `<unk>` already).
public struct Corpus: Sendable {
    public var name: String
    public var words: [String]
    public var train: [Int32], valid: [Int32], test: [Int32]
    public var vocabularySize: Int { words.count }

    public static let fileNames = ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"]

    /// Reads the three files from `dir`.
    public static func load(_ dir: String) throws -> Corpus {
        let paths = fileNames.map { (dir as NSString).appendingPathComponent($0) }
        for p in paths where !FileManager.default.fileExists(atPath: p) {
            throw DataError.missing(path: p, hint: "a PTB folder holds ptb.train.txt, ptb.valid.txt and ptb.test.txt (Tools/get-ptb DIR writes them)")
        }
        let texts = try paths.map { p -> String in
            guard let d = readBytes(p) else { throw DataError.unreadable(path: p, reason: "cannot read") }
            guard let s = String(validating: d, as: UTF8.self) else { throw DataError.format(path: p, reason: "not UTF-8 text") }
            return s
        }
        return try Corpus(name: "PTB (\(dir))", train: (texts[0], paths[0]), valid: (texts[1], paths[1]), test: (texts[2], paths[2]))
    }

    /// Builds a corpus from three texts (each with the path used in errors).
    public init(name: String, train: (String, String), valid: (String, String), test: (String, String)) throws {
        self.name = name
        var index: [String: Int32] = [:]
        var words: [String] = []
        func tokens(_ text: String) -> [[Substring]] {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) }
        }
        var ids: [Int32] = []
        for line in tokens(train.0) where !line.isEmpty {
            for w in line + ["<eos>"] {
                let key = String(w)
                if let i = index[key] { ids.append(i) } else {
                    let i = Int32(words.count); index[key] = i; words.append(key); ids.append(i)
                }
            }
        }
        guard !words.isEmpty else { throw DataError.empty("\(train.1) has no words (empty vocabulary)") }
        self.train = ids
        func encode(_ t: (String, String)) throws -> [Int32] {
            var out: [Int32] = []
            for (n, line) in tokens(t.0).enumerated() where !line.isEmpty {
                for w in line + ["<eos>"] {
                    guard let i = index[String(w)] ?? index["<unk>"] else {
                        throw DataError.format(path: t.1, reason: "line \(n + 1): word '\(w)' is not in the training vocabulary (and there is no <unk>)")
                    }
                    out.append(i)
                }
            }
            guard !out.isEmpty else { throw DataError.empty("\(t.1) has no words") }
            return out
        }
        self.valid = try encode(valid); self.test = try encode(test)
        self.words = words
    }

    /// A stream cut into `batch` contiguous columns (the rest dropped), as the AWD-LSTM/DARTS
    /// `batchify`: element [t][b] is token b * rows + t. Returns rows x batch, row-major.
    public static func batchify(_ ids: [Int32], batch: Int) -> (rows: Int, data: [Int32]) {
        let rows = ids.count / batch
        var out = [Int32](repeating: 0, count: rows * batch)
        for b in 0..<batch { for t in 0..<rows { out[t * batch + b] = ids[b * rows + t] } }
        return (rows, out)
    }
}
