import Foundation
@testable import NSASDraw
import NSASIO
import Testing

@Suite struct ChartTests {
    @Test func ticks() {
        let t = niceTicks(0, 1)
        #expect(t.count == 6 && zip(t, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(niceTicks(1, 10, integer: true) == [2, 4, 6, 8, 10])
        #expect(niceTicks(1, 3, integer: true) == [1, 2, 3])
        #expect(niceTicks(-0.13, 0.52).first! >= -0.13 && niceTicks(-0.13, 0.52).contains(0))
        #expect(niceTicks(5, 5) == [5])
        #expect(tickText(0.25, step: 0.05) == "0.25" && tickText(3, step: 1) == "3" && tickText(0.0004, step: 0.0002) == "0.0004")
    }

    @Test func paletteStaysApartInGrey() {
        let first = Palette.colors.prefix(4).map(\.luma)
        for i in first.indices { for j in first.indices where j > i { #expect(abs(first[i] - first[j]) >= 0.1, "\(i) \(j)") } }
        // Beyond lightness every series has its own dash and marker pair.
        let pairs = (0..<8).map { "\(Palette.dash($0))/\(Palette.marker($0))" }
        #expect(Set(pairs).count == 8)
    }

    @Test func partsDoNotOverlap() throws {
        let c = try Canvas(width: 620, height: 400)
        let chart = Chart(title: "Kendall tau per epoch", xLabel: "epoch", yLabel: "tau",
                          series: [Series(name: "RandomNAS", points: (1...10).map { Point(Double($0), 0.1 * Double($0 % 4)) }, styleIndex: 0),
                                   Series(name: "RandomNAS-NSAS", points: (1...10).map { Point(Double($0), 0.05 * Double($0)) }, styleIndex: 1)],
                          integerX: true)
        let l = chart.draw(on: c, in: Rect(x: 0, y: 0, w: 620, h: 400))
        #expect(l.legendBoxes.count == 2)
        for b in l.legendBoxes { #expect(b.x > l.plotArea.maxX && b.maxX <= 620) }
        #expect(l.titleBox.maxY <= l.plotArea.y)
        for (i, a) in l.tickLabelBoxes.enumerated() { for b in l.tickLabelBoxes[(i + 1)...] { #expect(!a.intersects(b), "\(a) \(b)") } }
        for b in l.tickLabelBoxes { #expect(!b.intersects(l.plotArea) && b.x >= 0 && b.maxY <= 400) }
        let img = try c.image()
        // Lines drawn inside the plot area.
        #expect(darkPixels(img, x: l.plotArea.x + 3, y: l.plotArea.y + 3, w: l.plotArea.w - 6, h: l.plotArea.h - 6) > 200)
        for b in l.legendBoxes { #expect(darkPixels(img, x: b.x, y: b.y, w: b.w, h: b.h) > 20) }
    }

    @Test func figureWritesPanelsSideBySide() throws {
        let d = tempDir("figure")
        let ch = Chart(title: "t", xLabel: "x", yLabel: "y", series: [Series(name: "s", points: [Point(0, 0), Point(1, 1)], styleIndex: 0)])
        try Figure([ch, ch], panelWidth: 300, panelHeight: 200).write(to: d + "/f.png", scale: 2)
        let img = try PNG.read(d + "/f.png")
        #expect(img.width == 1200 && img.height == 400)
        #expect(throws: DrawError.self) { try Figure([]).write(to: d + "/e.png") }
        // A long legend widens its panel instead of squeezing the plot.
        let wide = Chart(title: "t", xLabel: "x", yLabel: "y", series: [Series(name: String(repeating: "long name ", count: 8), points: [Point(0, 0), Point(1, 1)], styleIndex: 0)])
        let f = Figure([wide], panelWidth: 300, panelHeight: 200)
        #expect(try f.width() > 400)
        let c = try Canvas(width: try f.width(), height: 200)
        let l = try f.draw(on: c)[0]
        let fw = try f.width()
        #expect(l.plotArea.w >= 139 && l.legendBoxes[0].maxX <= fw)
    }
}
