/// The longest list a genotype text may hold (pairs or integers): bounds memory and error lines.
let genotypeMaxList = 128

/// Tokenizer and parser for the DARTS genotype text: `Genotype(key=value, ...)` where a value is
/// a list of `('op', input)` pairs, a list of integers, or `range(a, b)`. Errors name the column
/// and the token at fault.
struct GenotypeParser {
    enum Kind: Equatable { case ident, int, string, punct, end }
    struct Token { var kind: Kind; var text: String; var column: Int }

    /// A parsed value with the column where it started.
    enum Value {
        case pairs([(String, Int, Int)])   // op, input, column of the pair
        case ints([Int])
    }

    var tokens: [Token] = []
    var pos = 0

    init(_ text: String) throws {
        var chars = Array(text)
        chars.append("\0")
        var i = 0
        while i < chars.count - 1 {
            let c = chars[i], col = i + 1
            if c.isWhitespace { i += 1; continue }
            if c.isLetter || c == "_" {
                var j = i
                while chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                tokens.append(Token(kind: .ident, text: String(chars[i..<j]), column: col)); i = j
            } else if c.isNumber || (c == "-" && chars[i + 1].isNumber) {
                var j = i + 1
                while chars[j].isNumber { j += 1 }
                tokens.append(Token(kind: .int, text: String(chars[i..<j]), column: col)); i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                while j < chars.count - 1 && chars[j] != c { j += 1 }
                guard j < chars.count - 1 else { throw GenotypeError("unterminated string", column: col, token: String(chars[i..<j])) }
                tokens.append(Token(kind: .string, text: String(chars[(i + 1)..<j]), column: col)); i = j + 1
            } else if "()[],=".contains(c) {
                tokens.append(Token(kind: .punct, text: String(c), column: col)); i += 1
            } else {
                throw GenotypeError("unexpected character", column: col, token: String(c))
            }
        }
        tokens.append(Token(kind: .end, text: "end of text", column: chars.count))
    }

    var current: Token { tokens[pos] }

    mutating func expect(_ text: String) throws {
        guard current.kind == .punct && current.text == text || current.kind == .ident && current.text == text else {
            throw GenotypeError("expected '\(text)'", column: current.column, token: current.text)
        }
        pos += 1
    }

    mutating func int() throws -> Int {
        guard current.kind == .int, let v = Int(current.text) else {
            throw GenotypeError("expected an integer", column: current.column, token: current.text)
        }
        pos += 1
        return v
    }

    mutating func value() throws -> Value {
        if current.kind == .ident && current.text == "range" {
            pos += 1
            try expect("(")
            let col = current.column
            let a = try int()
            try expect(",")
            let b = try int()
            try expect(")")
            guard a >= b || b - a <= genotypeMaxList, a >= -genotypeMaxList, b <= genotypeMaxList else {
                throw GenotypeError("range(\(a), \(b)) is too long: a genotype lists at most \(genotypeMaxList) values", column: col, token: "range")
            }
            return .ints(a < b ? Array(a..<b) : [])
        }
        try expect("[")
        if current.kind == .punct && current.text == "]" { pos += 1; return .ints([]) }
        if current.kind == .punct && current.text == "(" {
            var pairs: [(String, Int, Int)] = []
            while true {
                let col = current.column
                try expect("(")
                guard current.kind == .string else {
                    throw GenotypeError("expected an op name in quotes", column: current.column, token: current.text)
                }
                let op = current.text
                pos += 1
                try expect(",")
                let input = try int()
                try expect(")")
                pairs.append((op, input, col))
                guard pairs.count <= genotypeMaxList else {
                    throw GenotypeError("too many pairs: a genotype lists at most \(genotypeMaxList) values", column: col)
                }
                if current.text == "," && current.kind == .punct { pos += 1; continue }
                try expect("]")
                return .pairs(pairs)
            }
        }
        var ints: [Int] = []
        while true {
            ints.append(try int())
            guard ints.count <= genotypeMaxList else {
                throw GenotypeError("too many values: a genotype lists at most \(genotypeMaxList) values", column: current.column)
            }
            if current.text == "," && current.kind == .punct { pos += 1; continue }
            try expect("]")
            return .ints(ints)
        }
    }

    /// `Genotype(key=value, ...)` as a dictionary (keys in order of appearance are checked by the caller).
    mutating func parseFields() throws -> [String: (Value, Int)] {
        try expect("Genotype")
        try expect("(")
        var fields: [String: (Value, Int)] = [:]
        while true {
            guard current.kind == .ident else { throw GenotypeError("expected a field name", column: current.column, token: current.text) }
            let key = current.text, col = current.column
            pos += 1
            try expect("=")
            if fields[key] != nil { throw GenotypeError("field given twice", column: col, token: key) }
            fields[key] = (try value(), col)
            if current.text == "," && current.kind == .punct { pos += 1; continue }
            try expect(")")
            guard current.kind == .end else { throw GenotypeError("unexpected text after the genotype", column: current.column, token: current.text) }
            return fields
        }
    }

    mutating func parseDARTS() throws -> Genotype {
        let fields = try parseFields()
        for (key, (_, col)) in fields where !["normal", "normal_concat", "reduce", "reduce_concat"].contains(key) {
            throw GenotypeError("unknown field; a CNN genotype has normal, normal_concat, reduce, reduce_concat", column: col, token: key)
        }
        func edges(_ key: String) throws -> [Edge] {
            guard let (v, col) = fields[key] else { throw GenotypeError("missing field '\(key)'") }
            guard case .pairs(let pairs) = v else { throw GenotypeError("expected a list of ('op', input) pairs", column: col, token: key) }
            return try pairs.map { op, input, c in
                guard let p = Primitive(rawValue: op) else {
                    throw GenotypeError("unknown op; the ops are \(Primitive.names)", column: c, token: op)
                }
                return Edge(p, input)
            }
        }
        func concat(_ key: String) throws -> [Int]? {
            guard let (v, col) = fields[key] else { return nil }
            guard case .ints(let xs) = v else { throw GenotypeError("expected a list of node indices", column: col, token: key) }
            return xs
        }
        return try Genotype(normal: edges("normal"), normalConcat: concat("normal_concat"),
                            reduce: edges("reduce"), reduceConcat: concat("reduce_concat"))
    }
}
