import Foundation
import NSASSearchSpace

/// A cell as a graph to draw: input states, intermediate nodes, the output, and labelled edges.
public struct CellGraph: Equatable, Sendable {
    public enum Kind: Sendable { case input, intermediate, output }
    public struct Node: Equatable, Sendable { public var label: String; public var kind: Kind }
    public struct Edge: Equatable, Sendable {
        public var from: Int, to: Int
        public var label: String?
        /// Drawn faint and dashed (the `none` op of published genotypes).
        public var faint: Bool
    }
    public var title: String
    public var nodes: [Node]
    public var edges: [Edge]
    public init(title: String, nodes: [Node], edges: [Edge]) { self.title = title; self.nodes = nodes; self.edges = edges }

    /// A DARTS recurrent cell: x_{t} and h_{t-1} make state 0, node i reads one earlier state
    /// through its op, h_{t} is the mean of the concat nodes.
    public static func rnn(_ g: RecurrentGenotype, none: NoneEdges = .faint) -> CellGraph {
        var nodes = [Node(label: "x_{t}", kind: .input), Node(label: "h_{t-1}", kind: .input), Node(label: "0", kind: .intermediate)]
        for i in 1...g.nodes { nodes.append(Node(label: "\(i)", kind: .intermediate)) }
        nodes.append(Node(label: "h_{t}", kind: .output))
        var es = [Edge(from: 0, to: 2, label: nil, faint: false), Edge(from: 1, to: 2, label: nil, faint: false)]
        for (k, e) in g.recurrent.enumerated() {
            let isNone = e.op == .none
            if isNone && none == .hide { continue }
            es.append(Edge(from: 2 + e.input, to: 3 + k, label: e.op.rawValue, faint: isNone))
        }
        for c in g.concat { es.append(Edge(from: 2 + c, to: nodes.count - 1, label: nil, faint: false)) }
        return CellGraph(title: "recurrent cell", nodes: nodes, edges: es)
    }

    /// How `none` edges of a genotype are drawn.
    public enum NoneEdges: String, Sendable { case faint, hide }

    /// One DARTS CNN cell (`reduce` picks the reduction cell): inputs c_{k-2}, c_{k-1}, nodes 0..n-1,
    /// output c_{k} fed by the concatenated nodes.
    public static func cnn(_ g: Genotype, reduce: Bool, none: NoneEdges = .faint) -> CellGraph {
        let edges = reduce ? g.reduce : g.normal
        let concat = reduce ? g.reduceConcat : g.normalConcat
        let n = edges.count / 2
        var nodes = [Node(label: "c_{k-2}", kind: .input), Node(label: "c_{k-1}", kind: .input)]
        for i in 0..<n { nodes.append(Node(label: "\(i)", kind: .intermediate)) }
        nodes.append(Node(label: "c_{k}", kind: .output))
        var es: [Edge] = []
        for (k, e) in edges.enumerated() {
            let isNone = e.op == .none
            if isNone && none == .hide { continue }
            es.append(Edge(from: e.input, to: 2 + k / 2, label: e.op.rawValue, faint: isNone))
        }
        for c in concat { es.append(Edge(from: c, to: 2 + n, label: nil, faint: false)) }
        return CellGraph(title: reduce ? "reduction cell" : "normal cell", nodes: nodes, edges: es)
    }

    /// A NAS-Bench-201 cell: input node 0, nodes 1 and 2, output node 3, six labelled edges (each
    /// node reads every earlier one).
    public static func nb201(_ a: NB201Arch, none: NoneEdges = .faint) -> CellGraph {
        let nodes = [Node(label: "0", kind: .input), Node(label: "1", kind: .intermediate), Node(label: "2", kind: .intermediate),
                     Node(label: "3", kind: .output)]
        var es: [Edge] = []
        for (e, edge) in NB201Arch.edges.enumerated() {
            let isNone = a.ops[e] == .none
            if isNone && none == .hide { continue }
            es.append(Edge(from: edge.from, to: edge.to, label: a.ops[e].rawValue, faint: isNone))
        }
        return CellGraph(title: "NAS-Bench-201 cell", nodes: nodes, edges: es)
    }

    public var hasFaintEdges: Bool { edges.contains { $0.faint } }
}

/// Where everything of a cell drawing goes: node boxes, edge polylines, label boxes. Columns by
/// longest path from the inputs (left to right, like the DARTS figures); the order inside each
/// column and the curvature of edges chosen to avoid crossings and edges through boxes; labels
/// slid along their edge until they overlap no box and no other label.
public struct CellLayout: Sendable {
    public var graph: CellGraph
    public var width: Double, height: Double
    public var nodeBoxes: [Rect]
    public var edgePaths: [[Point]]
    /// Label box per edge (nil for unlabelled edges).
    public var labelBoxes: [Rect?]
    public var crossings: Int
    public var captionBox: Rect
    public var caption: String

    static let fontSize = 13.0, nodeFontSize = 15.0, boxH = 34.0, pad = 14.0

    init(graph: CellGraph, width: Double, height: Double, nodeBoxes: [Rect], edgePaths: [[Point]], labelBoxes: [Rect?],
         crossings: Int, captionBox: Rect, caption: String) {
        self.graph = graph; self.width = width; self.height = height; self.nodeBoxes = nodeBoxes; self.edgePaths = edgePaths
        self.labelBoxes = labelBoxes; self.crossings = crossings; self.captionBox = captionBox; self.caption = caption
    }

    public init(_ graph: CellGraph) throws {
        let m = try Canvas(width: 1, height: 1)
        var spread = 1.0
        // First ask for labels that no other edge runs through, widening the picture a few times;
        // then settle for labels that merely overlap nothing.
        for strict in [true, false] {
            spread = 1
            for _ in 0..<(strict ? 5 : 8) {
                if let l = CellLayout.attempt(graph, m, spread: spread, strict: strict) { self = l; return }
                spread *= 1.15
            }
        }
        throw DrawError.layout("could not place the labels of \(graph.title) without overlap")
    }

    /// Column of every node: inputs 0, others 1 + the deepest predecessor, the output last.
    static func columns(_ g: CellGraph) -> [Int] {
        var col = [Int](repeating: 0, count: g.nodes.count)
        for (i, n) in g.nodes.enumerated() where n.kind == .intermediate {
            col[i] = 1 + (g.edges.filter { $0.to == i && $0.from < i }.map { col[$0.from] }.max() ?? 0)
        }
        let last = (col.max() ?? 0) + 1
        for (i, n) in g.nodes.enumerated() where n.kind == .output { col[i] = last }
        return col
    }

    static func permutations(_ a: [Int]) -> [[Int]] {
        guard a.count > 1 else { return [a] }
        var out: [[Int]] = []
        for (i, x) in a.enumerated() {
            var rest = a; rest.remove(at: i)
            for p in permutations(rest) { out.append([x] + p) }
        }
        return out
    }

    static func attempt(_ g: CellGraph, _ m: Canvas, spread: Double, strict: Bool) -> CellLayout? {
        let col = columns(g)
        let ncol = (col.max() ?? 0) + 1
        let members = (0..<ncol).map { c in g.nodes.indices.filter { col[$0] == c } }
        let labelW = g.edges.compactMap { $0.label.map { m.measure($0, size: fontSize).width } }.max() ?? 0
        let nodeW = g.nodes.map { max(boxH, m.measure($0.label, size: nodeFontSize).width + 18) }
        let boxW = nodeW.max() ?? boxH
        let colGap = (boxW + labelW + 56) * spread
        let rowGap = (boxH + 44) * spread
        let maxRows = members.map(\.count).max() ?? 1
        let top = pad + 8, plotH = Double(maxRows - 1) * rowGap + boxH
        var height = top + plotH + 40
        let width = 2 * pad + Double(ncol - 1) * colGap + boxW

        // Every combination of orders within the columns when there are few (a CNN cell: at most
        // a few hundred); otherwise one order by the barycentre of each node's predecessors.
        let combinations = members.reduce(1.0) { acc, m in acc * (1...max(1, m.count)).reduce(1.0) { $0 * Double($1) } }
        var orders: [[[Int]]] = [[]]
        if combinations <= 2000 {
            for mem in members { orders = orders.flatMap { o in permutations(mem).map { o + [$0] } } }
        } else {
            var row = [Int: Double]()
            var order: [[Int]] = []
            for mem in members {
                let sorted = mem.sorted { a, b in
                    func bary(_ n: Int) -> Double {
                        let preds = g.edges.filter { $0.to == n }.compactMap { row[$0.from] }
                        return preds.isEmpty ? Double(n) : preds.reduce(0, +) / Double(preds.count)
                    }
                    return (bary(a), a) < (bary(b), b)
                }
                for (r, n) in sorted.enumerated() { row[n] = Double(r) - Double(sorted.count - 1) / 2 }
                order.append(sorted)
            }
            orders = [order]
        }
        var best: (cost: Double, boxes: [Rect], paths: [[Point]], crossings: Int)?
        for order in orders {
            var boxes = [Rect](repeating: Rect(x: 0, y: 0, w: 0, h: 0), count: g.nodes.count)
            for (c, mem) in order.enumerated() {
                let colH = Double(mem.count - 1) * rowGap
                for (r, i) in mem.enumerated() {
                    let cy = top + plotH / 2 - colH / 2 + Double(r) * rowGap
                    let cx = pad + boxW / 2 + Double(c) * colGap
                    boxes[i] = Rect(center: Point(cx, cy), w: nodeW[i], h: boxH)
                }
            }
            let (paths, bent) = route(g, boxes)
            let x = countCrossings(g, paths)
            let length = paths.reduce(0) { $0 + pathLength($1) }
            let cost = Double(x) * 1e6 + Double(bent) * 1e4 + length
            if best == nil || cost < best!.cost { best = (cost, boxes, paths, x) }
        }
        guard case (_, var boxes, var paths, let crossings)? = best else { return nil }
        // Curves may bulge above or below the boxes: move everything so they fit, with room for
        // labels beside them and the caption below.
        let ys = paths.flatMap { $0.map(\.y) } + boxes.flatMap { [$0.y, $0.maxY] }
        let shift = max(0, top - (ys.min() ?? top))
        if shift > 0 {
            boxes = boxes.map { Rect(x: $0.x, y: $0.y + shift, w: $0.w, h: $0.h) }
            paths = paths.map { $0.map { Point($0.x, $0.y + shift) } }
        }
        height = max(height, (ys.max() ?? 0) + shift + 40)

        // Labels: slide along the edge from the middle outwards, then try beside it.
        var placed: [Rect] = []
        var labels: [Rect?] = []
        let canvas = Rect(x: 2, y: 2, w: width - 4, h: height - 4)
        let order = g.edges.indices.sorted { pathLength(paths[$0]) < pathLength(paths[$1]) }
        var byEdge = [Rect?](repeating: nil, count: g.edges.count)
        for e in order {
            guard let label = g.edges[e].label else { continue }
            let mw = m.measure(label, size: fontSize)
            let w = mw.width + 6, h = mw.ascent + mw.descent + 4
            // Among the places that overlap no box and no label, take the one crossed by the fewest
            // other edges (so a label is not read as another edge's), nearest the middle.
            var found: (Rect, Int)?
            search: for offset in [0.0, -(h / 2 + 3), h / 2 + 3] {
                for t in [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.2, 0.8, 0.15, 0.85] {
                    let p = pointAlong(paths[e], t)
                    let r = Rect(center: Point(p.x, p.y + offset), w: w, h: h)
                    guard r.x >= canvas.x, r.maxX <= canvas.maxX, r.y >= canvas.y, r.maxY <= canvas.maxY else { continue }
                    if boxes.contains(where: { r.intersects($0.insetBy(-4)) }) { continue }
                    if placed.contains(where: { r.intersects($0.insetBy(-2)) }) { continue }
                    let crossed = paths.indices.filter { $0 != e && zip(paths[$0], paths[$0].dropFirst()).contains { segmentHitsRect($0, $1, r) } }.count
                    if found == nil || crossed < found!.1 { found = (r, crossed) }
                    if crossed == 0 { break search }
                }
            }
            guard let (f, crossed) = found, !strict || crossed == 0 else { return nil }
            placed.append(f); byEdge[e] = f
        }
        labels = byEdge
        let caption = g.title + (g.hasFaintEdges ? " (none edges drawn faint)" : "")
        let cb = m.box(caption, at: Point(width / 2, height - 14), size: fontSize - 1)
        if placed.contains(where: { $0.intersects(cb) }) || boxes.contains(where: { $0.intersects(cb) }) { return nil }
        return CellLayout(graph: g, width: width, height: height, nodeBoxes: boxes, edgePaths: paths, labelBoxes: labels,
                          crossings: crossings, captionBox: cb, caption: caption)
    }

    /// Straight edges from the right side of the source to the left side of the target; an edge
    /// that would run through another box, lie on a parallel edge or cross edges already routed
    /// bends as a quadratic curve (short edges are routed first, each taking the shape that
    /// crosses the fewest, then the straightest). Returns the paths and how many bent.
    static func route(_ g: CellGraph, _ boxes: [Rect]) -> ([[Point]], Int) {
        var paths = [[Point]](repeating: [], count: g.edges.count)
        var bent = 0
        func ends(_ e: CellGraph.Edge) -> (Point, Point) {
            (Point(boxes[e.from].maxX, boxes[e.from].center.y), Point(boxes[e.to].x, boxes[e.to].center.y))
        }
        let order = g.edges.indices.sorted {
            let (a0, b0) = ends(g.edges[$0]), (a1, b1) = ends(g.edges[$1])
            return (hypot(b0.x - a0.x, b0.y - a0.y), $0) < (hypot(b1.x - a1.x, b1.y - a1.y), $1)
        }
        var routed: [Int] = []
        for k in order {
            let e = g.edges[k]
            let (a, b) = ends(e)
            let parallel = routed.filter { g.edges[$0].from == e.from && g.edges[$0].to == e.to }.count
            let others = boxes.indices.filter { $0 != e.from && $0 != e.to }
            func clear(_ p: [Point]) -> Bool {
                !others.contains { i in zip(p, p.dropFirst()).contains { segmentHitsRect($0, $1, boxes[i].insetBy(-3)) } }
            }
            func crossings(_ p: [Point]) -> Int {
                routed.filter { j in
                    let f = g.edges[j]
                    if f.from == e.from || f.to == e.to || f.to == e.from || f.from == e.to { return false }
                    return zip(p, p.dropFirst()).contains { s in zip(paths[j], paths[j].dropFirst()).contains { t in segmentsCross(s.0, s.1, t.0, t.1) } }
                }.count
            }
            var candidates: [(bend: Double, path: [Point])] = parallel == 0 ? [(0, [a, b])] : []
            for d in [25.0, 45, 70, 100, 135] { for sign in [1.0, -1.0] where parallel == 0 || d >= 25 * Double(parallel) { candidates.append((sign * d, quadratic(a, b, bend: sign * d))) } }
            let scored = candidates.map { c in (c, clear(c.path) ? 0 : 1, crossings(c.path)) }
            let best = scored.min { ($0.1, $0.2, abs($0.0.bend)) < ($1.1, $1.2, abs($1.0.bend)) }!
            if best.0.bend != 0 { bent += 1 }
            paths[k] = best.0.path
            routed.append(k)
        }
        return (paths, bent)
    }

    static func quadratic(_ a: Point, _ b: Point, bend: Double, samples: Int = 16) -> [Point] {
        let dx = b.x - a.x, dy = b.y - a.y, n = max(1e-9, (dx * dx + dy * dy).squareRoot())
        let c = Point((a.x + b.x) / 2 - dy / n * bend * 2, (a.y + b.y) / 2 + dx / n * bend * 2)
        return (0...samples).map { i in
            let t = Double(i) / Double(samples), u = 1 - t
            return Point(u * u * a.x + 2 * u * t * c.x + t * t * b.x, u * u * a.y + 2 * u * t * c.y + t * t * b.y)
        }
    }

    static func pathLength(_ p: [Point]) -> Double {
        zip(p, p.dropFirst()).reduce(0) { $0 + hypot($1.1.x - $1.0.x, $1.1.y - $1.0.y) }
    }

    static func pointAlong(_ p: [Point], _ t: Double) -> Point {
        var left = pathLength(p) * t
        for (a, b) in zip(p, p.dropFirst()) {
            let l = hypot(b.x - a.x, b.y - a.y)
            if left <= l, l > 0 { return Point(a.x + (b.x - a.x) * left / l, a.y + (b.y - a.y) * left / l) }
            left -= l
        }
        return p.last!
    }

    /// Pairs of edges whose paths cross (edges that share an end only meet there and do not count).
    static func countCrossings(_ g: CellGraph, _ paths: [[Point]]) -> Int {
        var n = 0
        for i in g.edges.indices {
            for j in g.edges.indices where j > i {
                let (a, b) = (g.edges[i], g.edges[j])
                if a.from == b.from || a.to == b.to || a.to == b.from || a.from == b.to { continue }
                let hit = zip(paths[i], paths[i].dropFirst()).contains { s in
                    zip(paths[j], paths[j].dropFirst()).contains { t in segmentsCross(s.0, s.1, t.0, t.1) }
                }
                if hit { n += 1 }
            }
        }
        return n
    }

    static func segmentsCross(_ p1: Point, _ p2: Point, _ q1: Point, _ q2: Point) -> Bool {
        func orient(_ a: Point, _ b: Point, _ c: Point) -> Double { (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x) }
        let d1 = orient(q1, q2, p1), d2 = orient(q1, q2, p2), d3 = orient(p1, p2, q1), d4 = orient(p1, p2, q2)
        return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
    }

    static func segmentHitsRect(_ a: Point, _ b: Point, _ r: Rect) -> Bool {
        if r.contains(a) || r.contains(b) { return true }
        let corners = [Point(r.x, r.y), Point(r.maxX, r.y), Point(r.maxX, r.maxY), Point(r.x, r.maxY)]
        return (0..<4).contains { segmentsCross(a, b, corners[$0], corners[($0 + 1) % 4]) }
    }

    // MARK: drawing

    static func fillColor(_ k: CellGraph.Kind) -> Color {
        switch k {
        case .input: return Color(hex: 0xb4dcb4)         // DARTS: darkseagreen2
        case .intermediate: return Color(hex: 0xb4d8ec)  // lightblue
        case .output: return Color(hex: 0xeee8aa)        // palegoldenrod
        }
    }

    /// Draws the laid-out cell on `c` (whose logical size is `width` x `height`).
    public func draw(on c: Canvas) {
        for (k, e) in graph.edges.enumerated() {
            let p = edgePaths[k]
            let colour = e.faint ? Color(hex: 0xaaaaaa) : e.label == nil ? Color(hex: 0x707070) : Color(hex: 0x303030)
            var pts = p
            // Stop the line at the arrowhead's base so the tip stays sharp.
            let tip = p.last!, from = p[p.count - 2]
            let l = hypot(tip.x - from.x, tip.y - from.y)
            if l > 8 { pts[pts.count - 1] = Point(tip.x - (tip.x - from.x) / l * 7, tip.y - (tip.y - from.y) / l * 7) }
            c.line(pts, colour, width: e.faint ? 1 : 1.4, dash: e.faint ? [4, 3] : [])
            c.arrowhead(from: from, tip: tip, colour)
        }
        for (k, e) in graph.edges.enumerated() {
            guard let label = e.label, let r = labelBoxes[k] else { continue }
            c.fill(r, Color(1, 1, 1, 0.88), radius: 3)
            c.text(label, at: r.center, size: CellLayout.fontSize, e.faint ? Color(hex: 0x909090) : .black)
        }
        for (i, n) in graph.nodes.enumerated() {
            c.fill(nodeBoxes[i], CellLayout.fillColor(n.kind), radius: 6)
            c.stroke(nodeBoxes[i], Color(hex: 0x404040), width: 1.2, radius: 6)
            c.text(n.label, at: nodeBoxes[i].center, size: CellLayout.nodeFontSize)
        }
        c.text(caption, at: captionBox.center, size: CellLayout.fontSize - 1, Color(hex: 0x505050))
    }

    /// Writes the cell to `path` (PNG, or SVG for a `.svg` path).
    public func write(to path: String, scale: Double = 1) throws {
        try render(to: path, width: width, height: height, scale: scale) { draw(on: $0) }
    }
}
