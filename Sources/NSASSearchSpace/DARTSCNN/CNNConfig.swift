/// Size of a DARTS CNN network (supernet or stand-alone).
public struct CNNConfig: Codable, Hashable, Sendable {
    /// Number of cells L; reduction cells sit at L/3 and 2L/3.
    public var layers: Int
    /// Initial channels C.
    public var channels: Int
    public var nodes: Int
    public var inputChannels: Int
    public var imageSize: Int
    public var classes: Int
    public var stemMultiplier: Int

    public init(layers: Int = 8, channels: Int = 16, nodes: Int = 4, inputChannels: Int = 3, imageSize: Int = 32,
                classes: Int = 10, stemMultiplier: Int = 3) {
        self.layers = layers; self.channels = channels; self.nodes = nodes; self.inputChannels = inputChannels
        self.imageSize = imageSize; self.classes = classes; self.stemMultiplier = stemMultiplier
    }

    /// Indices of the reduction cells.
    public var reductionCells: Set<Int> { [layers / 3, 2 * layers / 3] }

    /// Throws a one-line error for sizes the network cannot take.
    public func validate() throws {
        guard layers >= 1, channels >= 2, channels % 2 == 0, nodes >= 1, inputChannels >= 1, classes >= 2, stemMultiplier >= 1 else {
            throw SearchSpaceError.config("layers >= 1, an even channel count >= 2, nodes >= 1 and classes >= 2 are needed (got layers \(layers), channels \(channels), nodes \(nodes), classes \(classes))")
        }
        // Every reduction halves an even size (FactorizedReduce needs even sizes).
        var size = imageSize
        for i in 0..<layers where reductionCells.contains(i) {
            guard size % 2 == 0, size >= 2 else {
                throw SearchSpaceError.config("image size \(imageSize) cannot be halved at every reduction cell (size \(size) before cell \(i))")
            }
            size /= 2
        }
    }

    /// Edges of a cell: node i has 2 + i candidate inputs.
    public var edgesPerCell: Int { nodes * (nodes + 3) / 2 }
    /// Index of the edge from state j into node i.
    public static func edgeIndex(node i: Int, input j: Int) -> Int { i * (i + 3) / 2 + j }
    /// The input of edge `e` (0 and 1 the cell's inputs, 2 + i node i's output).
    public static func edgeInput(_ e: Int) -> Int {
        var node = 0
        while edgeIndex(node: node + 1, input: 0) <= e { node += 1 }
        return e - edgeIndex(node: node, input: 0)
    }
}

public enum SearchSpaceError: Error, CustomStringConvertible, Equatable {
    case config(String)
    case genotype(String)
    /// A genotype list file that cannot be read or parsed (the message names file and line).
    case file(String)
    /// An option out of range for this space (the message names the option).
    case option(String)
    public var description: String {
        switch self {
        case .file(let m), .option(let m): return m
        case .config(let m): return "network configuration: \(m)"
        case .genotype(let m): return "genotype does not fit the network: \(m)"
        }
    }
}
