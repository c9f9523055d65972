import Foundation

/// One series of a chart.
public struct Series: Sendable {
    public enum Style: Sendable { case line, scatter }
    public var name: String
    public var points: [Point]
    public var style: Style
    /// Index into the palette (colour, marker and dash); series sharing an index match.
    public var styleIndex: Int
    /// Force a dashed line (e.g. a reference level).
    public var dashed: Bool
    /// Leave out of the legend.
    public var hideInLegend: Bool
    /// Draw the line solid whatever the palette's dash (when markers and colours tell series apart
    /// and dashes mean something else, as the stand-alone levels of the forgetting plot).
    public var solid: Bool
    public init(name: String, points: [Point], style: Style = .line, styleIndex: Int, dashed: Bool = false, hideInLegend: Bool = false,
                solid: Bool = false) {
        self.name = name; self.points = points; self.style = style; self.styleIndex = styleIndex; self.dashed = dashed
        self.hideInLegend = hideInLegend; self.solid = solid
    }

    var dash: [Double] { dashed ? [6, 4] : solid ? [] : Palette.dash(styleIndex) }
    var lineWidth: Double { dashed ? 1.3 : 2 }
}

/// A 2-D chart: axes with ticks and numbers, a legend, a title.
public struct Chart: Sendable {
    public var title: String
    public var xLabel: String, yLabel: String
    public var series: [Series]
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Ticks on whole numbers only (epochs).
    public var integerX: Bool
    public init(title: String, xLabel: String, yLabel: String, series: [Series], xRange: ClosedRange<Double>? = nil,
                yRange: ClosedRange<Double>? = nil, integerX: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.xRange = xRange; self.yRange = yRange; self.integerX = integerX
    }
}

/// Colours, markers and dashes that stay apart in greyscale print: the colours step through
/// clearly different lightness and each series also has its own marker and dash pattern.
public enum Palette {
    public static let colors: [Color] = [Color(hex: 0x000000), Color(hex: 0xe66100), Color(hex: 0x1f5fbf), Color(hex: 0x9ed36a),
                                         Color(hex: 0x7b3294), Color(hex: 0xb8b8b8), Color(hex: 0x8c510a), Color(hex: 0x35978f)]
    public static let dashes: [[Double]] = [[], [7, 3], [2, 2.5], [9, 3, 2, 3], [], [5, 5], [1, 3], [12, 3]]
    public enum Marker: CaseIterable, Sendable { case circle, square, triangle, diamond, cross, plus, invertedTriangle, star }
    public static func color(_ i: Int) -> Color { colors[i % colors.count] }
    public static func dash(_ i: Int) -> [Double] { dashes[i % dashes.count] }
    public static func marker(_ i: Int) -> Marker { Marker.allCases[i % Marker.allCases.count] }
}

/// Readable tick values: steps of 1, 2 or 5 times a power of ten.
public func niceTicks(_ lo: Double, _ hi: Double, target: Int = 6, integer: Bool = false) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return [lo] }
    let raw = (hi - lo) / Double(max(1, target - 1))
    let mag = pow(10, floor(log10(raw)))
    var step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    if integer { step = max(1, step.rounded()) }
    var t = (lo / step).rounded(.up) * step
    var out: [Double] = []
    while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
    return out
}

func tickText(_ v: Double, step: Double) -> String {
    let decimals = max(0, min(6, Int(-floor(log10(step) + 1e-9))))
    return String(format: "%.\(decimals)f", v)
}

/// Where a chart's parts went (for tests: every box is inside the panel, and none overlap).
public struct ChartLayout: Sendable {
    public var plotArea: Rect
    public var titleBox: Rect
    public var legendBoxes: [Rect]
    public var tickLabelBoxes: [Rect]
}

extension Chart {
    static let titleSize = 15.0, labelSize = 12.5, tickSize = 11.0

    /// Panel width that leaves the plot area `plotWidth` beside the legend.
    func preferredWidth(_ c: Canvas, plotWidth: Double = 460) -> Double {
        let legend = series.filter { !$0.hideInLegend }
        let legendW = legend.isEmpty ? 0 : (legend.map { c.measure($0.name, size: Chart.labelSize).width }.max() ?? 0) + 48
        return 70 + 16 + plotWidth + legendW
    }

    func bounds() -> (ClosedRange<Double>, ClosedRange<Double>) {
        let pts = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        func widen(_ lo: Double, _ hi: Double) -> ClosedRange<Double> {
            if lo == hi { let d = lo == 0 ? 1 : abs(lo) * 0.1; return (lo - d)...(hi + d) }
            let d = (hi - lo) * 0.05
            return (lo - d)...(hi + d)
        }
        let xs = pts.map(\.x), ys = pts.map(\.y)
        let xr = xRange ?? (xs.isEmpty ? 0...1 : widen(xs.min()!, xs.max()!))
        let yr = yRange ?? (ys.isEmpty ? 0...1 : widen(ys.min()!, ys.max()!))
        return (xr, yr)
    }

    /// Draws the chart into `panel` of `c` and returns where its parts went.
    @discardableResult
    public func draw(on c: Canvas, in panel: Rect) -> ChartLayout {
        let legend = series.filter { !$0.hideInLegend }
        let legendW = legend.isEmpty ? 0 : (legend.map { c.measure($0.name, size: Chart.labelSize).width }.max() ?? 0) + 48
        let plot = Rect(x: panel.x + 70, y: panel.y + 40, w: panel.w - 70 - 16 - legendW, h: panel.h - 40 - 52)
        let (xr, yr) = bounds()
        func px(_ x: Double) -> Double { plot.x + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * plot.w }
        func py(_ y: Double) -> Double { plot.maxY - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * plot.h }

        // The title centred over the panel, smaller if it would not fit.
        var titleSize = Chart.titleSize
        while titleSize > 9, c.measure(title, size: titleSize, bold: true).width > panel.w - 20 { titleSize -= 0.5 }
        let titleBox = c.text(title, at: Point(panel.center.x, panel.y + 18), size: titleSize, bold: true)
        var tickBoxes: [Rect] = []
        let xt = niceTicks(xr.lowerBound, xr.upperBound, target: 7, integer: integerX)
        let yt = niceTicks(yr.lowerBound, yr.upperBound, target: 6)
        let xStep = xt.count > 1 ? xt[1] - xt[0] : 1, yStep = yt.count > 1 ? yt[1] - yt[0] : 1
        for v in yt {
            c.line([Point(plot.x, py(v)), Point(plot.maxX, py(v))], Color.lightGrey, width: 0.8)
            c.line([Point(plot.x - 5, py(v)), Point(plot.x, py(v))], .black)
            tickBoxes.append(c.text(tickText(v, step: yStep), at: Point(plot.x - 8, py(v)), size: Chart.tickSize, h: .right))
        }
        for v in xt {
            c.line([Point(px(v), plot.maxY), Point(px(v), plot.maxY + 5)], .black)
            tickBoxes.append(c.text(tickText(v, step: xStep), at: Point(px(v), plot.maxY + 8), size: Chart.tickSize, v: .top))
        }
        c.stroke(plot, .black, width: 1)
        c.text(xLabel, at: Point(plot.center.x, plot.maxY + 32), size: Chart.labelSize, v: .top)
        let yTickW = tickBoxes.prefix(yt.count).map(\.w).max() ?? 20
        c.text(yLabel, at: Point(plot.x - yTickW - 18, plot.center.y), size: Chart.labelSize, rotated: true)

        // Data, clipped to the plot area by dropping points outside it.
        for s in series {
            let color = Palette.color(s.styleIndex)
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && xr.contains($0.x) && yr.contains($0.y) }
                .map { Point(px($0.x), py($0.y)) }
            if s.style == .line {
                c.line(pts, color, width: s.lineWidth, dash: s.dash)
            }
            if !s.dashed { for p in pts { drawMarker(c, p, Palette.marker(s.styleIndex), color, size: s.style == .scatter ? 4.5 : 3.5) } }
        }

        var legendBoxes: [Rect] = []
        var ly = plot.y + 8
        for s in legend {
            let color = Palette.color(s.styleIndex)
            let x0 = plot.maxX + 12
            if s.style == .line {
                c.line([Point(x0, ly), Point(x0 + 28, ly)], color, width: s.lineWidth, dash: s.dash)
            }
            if !s.dashed { drawMarker(c, Point(x0 + 14, ly), Palette.marker(s.styleIndex), color, size: 3.5) }
            legendBoxes.append(c.text(s.name, at: Point(x0 + 34, ly), size: Chart.labelSize, h: .left))
            ly += 20
        }
        return ChartLayout(plotArea: plot, titleBox: titleBox, legendBoxes: legendBoxes, tickLabelBoxes: tickBoxes)
    }

    func drawMarker(_ c: Canvas, _ p: Point, _ m: Palette.Marker, _ color: Color, size r: Double) {
        let outline = color.luma > 0.6 ? Color(hex: 0x404040) : nil
        switch m {
        case .circle: c.circle(p, radius: r, fill: color, stroke: outline)
        case .square: c.polygon([Point(p.x - r, p.y - r), Point(p.x + r, p.y - r), Point(p.x + r, p.y + r), Point(p.x - r, p.y + r)], fill: color, stroke: outline)
        case .triangle: c.polygon([Point(p.x, p.y - r * 1.2), Point(p.x + r * 1.1, p.y + r * 0.8), Point(p.x - r * 1.1, p.y + r * 0.8)], fill: color, stroke: outline)
        case .invertedTriangle: c.polygon([Point(p.x, p.y + r * 1.2), Point(p.x + r * 1.1, p.y - r * 0.8), Point(p.x - r * 1.1, p.y - r * 0.8)], fill: color, stroke: outline)
        case .diamond: c.polygon([Point(p.x, p.y - r * 1.3), Point(p.x + r * 1.3, p.y), Point(p.x, p.y + r * 1.3), Point(p.x - r * 1.3, p.y)], fill: color, stroke: outline)
        case .cross:
            c.line([Point(p.x - r, p.y - r), Point(p.x + r, p.y + r)], color, width: 2)
            c.line([Point(p.x - r, p.y + r), Point(p.x + r, p.y - r)], color, width: 2)
        case .plus:
            c.line([Point(p.x - r * 1.2, p.y), Point(p.x + r * 1.2, p.y)], color, width: 2)
            c.line([Point(p.x, p.y - r * 1.2), Point(p.x, p.y + r * 1.2)], color, width: 2)
        case .star:
            let pts = (0..<10).map { i -> Point in
                let a = Double(i) * Double.pi / 5 - Double.pi / 2, rr = i % 2 == 0 ? r * 1.4 : r * 0.6
                return Point(p.x + cos(a) * rr, p.y + sin(a) * rr)
            }
            c.polygon(pts, fill: color, stroke: outline)
        }
    }
}

/// Charts side by side in one picture; each panel at least `panelWidth` wide, wider when its
/// legend needs room.
public struct Figure: Sendable {
    public var charts: [Chart]
    public var panelWidth: Double, panelHeight: Double
    public init(_ charts: [Chart], panelWidth: Double = 620, panelHeight: Double = 400) {
        self.charts = charts; self.panelWidth = panelWidth; self.panelHeight = panelHeight
    }

    func widths() throws -> [Double] {
        let m = try Canvas(width: 1, height: 1)
        return charts.map { max(panelWidth, $0.preferredWidth(m, plotWidth: panelWidth - 160)) }
    }

    public func width() throws -> Double { try widths().reduce(0, +) }

    @discardableResult
    public func draw(on c: Canvas) throws -> [ChartLayout] {
        var x = 0.0
        return try zip(charts, widths()).map { ch, w in
            defer { x += w }
            return ch.draw(on: c, in: Rect(x: x, y: 0, w: w, h: panelHeight))
        }
    }

    /// Writes the figure to `path` (PNG, or SVG for a `.svg` path).
    public func write(to path: String, scale: Double = 1) throws {
        guard !charts.isEmpty else { throw DrawError.input("nothing to plot") }
        try render(to: path, width: try width(), height: panelHeight, scale: scale) { try draw(on: $0) }
    }
}
