import Foundation

/// A table of counts drawn as shaded cells (darker is more), with the numbers written in: one
/// panel per table, side by side (the coverage plot: edges x ops per cell type).
public struct Heatmap: Sendable {
    public var title: String
    public var rowTitle: String
    public var rows: [String], columns: [String]
    /// values[row][column]
    public var values: [[Double]]
    public init(title: String, rowTitle: String, rows: [String], columns: [String], values: [[Double]]) {
        self.title = title; self.rowTitle = rowTitle; self.rows = rows; self.columns = columns; self.values = values
    }

    static let cell = (w: 62.0, h: 22.0), margin = (left: 70.0, top: 110.0, right: 20.0, bottom: 20.0)
    var size: (w: Double, h: Double) {
        (Self.margin.left + Double(columns.count) * Self.cell.w + Self.margin.right, Self.margin.top + Double(rows.count) * Self.cell.h + Self.margin.bottom)
    }

    func draw(on c: Canvas, at x0: Double, maximum: Double) {
        c.text(title, at: Point(x0 + size.w / 2, 18), size: 14, bold: true)
        c.text(rowTitle, at: Point(x0 + Self.margin.left - 8, Self.margin.top - 8), size: 11, h: .right, v: .bottom)
        for (j, name) in columns.enumerated() {
            // Column names stand rotated above their column.
            c.text(name, at: Point(x0 + Self.margin.left + (Double(j) + 0.5) * Self.cell.w, Self.margin.top - 6), size: 11, h: .left, v: .center, rotated: true)
        }
        for (i, name) in rows.enumerated() {
            let y = Self.margin.top + Double(i) * Self.cell.h
            c.text(name, at: Point(x0 + Self.margin.left - 8, y + Self.cell.h / 2), size: 11, h: .right)
            for j in columns.indices {
                let v = values[i][j], f = maximum > 0 ? v / maximum : 0
                // White to dark blue: lightness falls with the count, so greyscale prints keep the order.
                let shade = Color(1 - 0.85 * f, 1 - 0.75 * f, 1 - 0.35 * f)
                let r = Rect(x: x0 + Self.margin.left + Double(j) * Self.cell.w, y: y, w: Self.cell.w, h: Self.cell.h)
                c.fill(r, shade)
                c.stroke(r, .lightGrey, width: 0.5)
                c.text(v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v), at: Point(r.x + r.w / 2, r.y + r.h / 2), size: 10,
                       shade.luma < 0.5 ? .white : .black)
            }
        }
    }

    /// Writes the panels side by side to `path` (PNG, or SVG for a `.svg` path), one colour scale for all.
    public static func write(_ maps: [Heatmap], to path: String, scale: Double = 1) throws {
        guard !maps.isEmpty, maps.allSatisfy({ !$0.rows.isEmpty && !$0.columns.isEmpty }) else { throw DrawError.input("nothing to plot") }
        let maximum = maps.flatMap { $0.values.joined() }.max() ?? 0
        let width = maps.map(\.size.w).reduce(0, +), height = maps.map(\.size.h).max()!
        try render(to: path, width: width, height: height, scale: scale) { c in
            c.fill(Rect(x: 0, y: 0, w: width, h: height), .white)
            var x = 0.0
            for m in maps { m.draw(on: c, at: x, maximum: maximum); x += m.size.w }
        }
    }
}
