import Foundation
@testable import NSASDraw
import NSASIO
import NSASSearchSpace
import NSASTensor
import Testing

@Suite struct CellDrawingTests {
    /// Every label and node box inside the picture; no label over a box, the caption or another label.
    func checkLegible(_ l: CellLayout) {
        let canvas = Rect(x: 0, y: 0, w: l.width, h: l.height)
        let labels = l.labelBoxes.compactMap { $0 }
        for r in labels + l.nodeBoxes + [l.captionBox] {
            #expect(r.x >= 0 && r.y >= 0 && r.maxX <= canvas.maxX && r.maxY <= canvas.maxY, "\(r) outside \(canvas)")
        }
        for (i, a) in labels.enumerated() {
            for b in labels[(i + 1)...] { #expect(!a.intersects(b), "labels \(a) and \(b) overlap") }
            for n in l.nodeBoxes { #expect(!a.intersects(n), "label \(a) over node \(n)") }
            #expect(!a.intersects(l.captionBox))
        }
        for (i, a) in l.nodeBoxes.enumerated() { for b in l.nodeBoxes[(i + 1)...] { #expect(!a.intersects(b)) } }
        // Edges stay inside the picture and clear of the caption.
        for p in l.edgePaths {
            #expect(p.allSatisfy { $0.x >= 0 && $0.x <= l.width && $0.y >= 0 && $0.y <= l.height }, "edge outside the picture")
            #expect(!zip(p, p.dropFirst()).contains { CellLayout.segmentHitsRect($0, $1, l.captionBox) }, "edge through the caption")
        }
    }

    @Test func dartsV2Cells() throws {
        for reduce in [false, true] {
            let g = CellGraph.cnn(NamedGenotypes.dartsV2, reduce: reduce)
            #expect(g.nodes.map(\.label) == ["c_{k-2}", "c_{k-1}", "0", "1", "2", "3", "c_{k}"])
            #expect(g.edges.count == 8 + 4)
            let l = try CellLayout(g)
            checkLegible(l)
            // Left to right: inputs, then nodes, the output last.
            #expect(l.nodeBoxes[0].maxX < l.nodeBoxes[2].x && l.nodeBoxes.dropLast().allSatisfy { $0.maxX < l.nodeBoxes[6].x })
            // Node 3 reads node 0 (normal) / node 0 (reduce): it sits right of it.
            #expect(l.nodeBoxes[5].x > l.nodeBoxes[2].maxX)
        }
    }

    @Test func nb201Cells() throws {
        let a = try NB201Arch(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
        let g = CellGraph.nb201(a)
        #expect(g.nodes.map(\.label) == ["0", "1", "2", "3"] && g.edges.count == 6)
        #expect(g.edges.filter(\.faint).map { [$0.from, $0.to] } == [[1, 2]])
        #expect(CellGraph.nb201(a, none: .hide).edges.count == 5)
        #expect(try AnyGenotype(parsing: a.canonical) == .nb201(a))
        let l = try CellLayout(g)
        checkLegible(l)
        for k in 0..<3 { #expect(l.nodeBoxes[k].maxX < l.nodeBoxes[k + 1].x) }   // 0, 1, 2, 3 left to right
        for i in stride(from: 0, to: NB201Arch.count, by: 997) { checkLegible(try CellLayout(CellGraph.nb201(try NB201Arch(index: i)))) }
    }

    @Test func recurrentCells() throws {
        let g = CellGraph.rnn(RecurrentGenotype.dartsV2)
        #expect(g.nodes.map(\.label) == ["x_{t}", "h_{t-1}", "0", "1", "2", "3", "4", "5", "6", "7", "8", "h_{t}"])
        #expect(g.edges.count == 2 + 8 + 8)
        #expect(g.edges.filter { $0.label != nil }.map { $0.from - 2 } == RecurrentGenotype.dartsV2.recurrent.map(\.input))
        for genotype in [RecurrentGenotype.dartsV1, RecurrentGenotype.dartsV2, RecurrentGenotype.nsas] {
            let l = try CellLayout(CellGraph.rnn(genotype))
            checkLegible(l)
            // Every node right of the state it reads.
            for (k, e) in genotype.recurrent.enumerated() { #expect(l.nodeBoxes[3 + k].x > l.nodeBoxes[2 + e.input].maxX) }
        }
        // Many nodes reading state 0 put many boxes in one column: the order search falls back to barycentres.
        let wide = try RecurrentGenotype(recurrent: (0..<8).map { _ in RecurrentEdge(.tanh, 0) })
        checkLegible(try CellLayout(CellGraph.rnn(wide)))
        var rng = RNG(seed: 3)
        for _ in 0..<10 { checkLegible(try CellLayout(CellGraph.rnn(RecurrentGenotype.sample(allowNone: true, &rng)))) }
    }

    @Test func noneEdgesFaintOrHidden() throws {
        let faint = CellGraph.cnn(NamedGenotypes.nsas, reduce: true)
        #expect(faint.edges.filter(\.faint).map(\.label) == ["none", "none"])
        let l = try CellLayout(faint)
        #expect(l.caption.contains("none edges drawn faint"))
        checkLegible(l)
        let hidden = CellGraph.cnn(NamedGenotypes.nsas, reduce: true, none: .hide)
        #expect(hidden.edges.count == faint.edges.count - 2 && !hidden.hasFaintEdges)
        checkLegible(try CellLayout(hidden))
    }

    @Test func randomCellsStayLegible() throws {
        var rng = RNG(seed: 7)
        let sampler = ArchitectureSampler(allowNone: true)
        for _ in 0..<25 {
            let g = sampler.sample(&rng)
            checkLegible(try CellLayout(CellGraph.cnn(g, reduce: false)))
        }
    }

    @Test func orderAvoidsAvoidableCrossings() throws {
        // a feeds y and b feeds x: drawn in list order (x above y) the two edges would cross.
        let g = CellGraph(title: "t", nodes: [.init(label: "a", kind: .input), .init(label: "b", kind: .input),
                                              .init(label: "x", kind: .intermediate), .init(label: "y", kind: .intermediate),
                                              .init(label: "out", kind: .output)],
                          edges: [.init(from: 1, to: 2, label: "op1", faint: false), .init(from: 0, to: 3, label: "op2", faint: false),
                                  .init(from: 2, to: 4, label: nil, faint: false), .init(from: 3, to: 4, label: nil, faint: false)])
        let l = try CellLayout(g)
        #expect(l.crossings == 0)
        // A chain where each node also reads the state before its predecessor: planar, no crossings.
        let chain = try Genotype(parsing: "sep_conv_3x3~0|sep_conv_3x3~1|skip_connect~1|max_pool_3x3~2|dil_conv_3x3~2|avg_pool_3x3~3|sep_conv_5x5~3|skip_connect~4||" +
                                          "sep_conv_3x3~0|sep_conv_3x3~1|skip_connect~1|max_pool_3x3~2|dil_conv_3x3~2|avg_pool_3x3~3|sep_conv_5x5~3|skip_connect~4")
        let cl = try CellLayout(CellGraph.cnn(chain, reduce: false))
        #expect(cl.crossings == 0)
        checkLegible(cl)
        // No edge runs through a box it does not end at.
        for (k, e) in cl.graph.edges.enumerated() {
            for (i, b) in cl.nodeBoxes.enumerated() where i != e.from && i != e.to {
                let p = cl.edgePaths[k]
                #expect(!zip(p, p.dropFirst()).contains { CellLayout.segmentHitsRect($0, $1, b) }, "edge \(e) through node \(i)")
            }
        }
    }

    @Test func pngHasTheLabelsWhereTheLayoutPutThem() throws {
        let d = tempDir("cell")
        let l = try CellLayout(CellGraph.cnn(NamedGenotypes.dartsV2, reduce: false))
        for scale in [1.0, 2.0] {
            let path = d + "/v2-\(Int(scale)).png"
            try l.write(to: path, scale: scale)
            let img = try PNG.read(path)
            #expect(img.width == Int((l.width * scale).rounded(.up)) && img.height == Int((l.height * scale).rounded(.up)))
            #expect(nonWhite(img) > img.width * img.height / 50)
            for r in l.labelBoxes.compactMap({ $0 }) {
                #expect(darkPixels(img, x: r.x, y: r.y, w: r.w, h: r.h, scale: scale) > Int(20 * scale * scale), "no text in \(r)")
            }
            for b in l.nodeBoxes { #expect(darkPixels(img, x: b.x + 6, y: b.y + 6, w: b.w - 12, h: b.h - 12, scale: scale) > 0) }
        }
    }

    @Test func deterministicAndGolden() throws {
        let d = tempDir("golden")
        let l = try CellLayout(CellGraph.cnn(NamedGenotypes.dartsV2, reduce: false))
        try l.write(to: d + "/a.png"); try l.write(to: d + "/b.png")
        let a = try Data(contentsOf: URL(fileURLWithPath: d + "/a.png")), b = try Data(contentsOf: URL(fileURLWithPath: d + "/b.png"))
        #expect(a == b)
        // Guards against accidental changes of layout or rendering; after an intended change,
        // run `NSAS_PRINT_GOLDEN=1 swift test --filter deterministicAndGolden` and paste the values.
        let img = try PNG.read(d + "/a.png")
        let hash = pixelHash(img)
        if ProcessInfo.processInfo.environment["NSAS_PRINT_GOLDEN"] != nil { print("golden: \(img.width)x\(img.height) 0x\(String(hash, radix: 16))") }
        #expect("\(img.width)x\(img.height)" == GOLDEN_SIZE)
        #expect(hash == GOLDEN_HASH)
    }
}

let GOLDEN_SIZE = "941x364"
let GOLDEN_HASH: UInt64 = 0xd18bc6b6f327e27b
