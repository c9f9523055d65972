import NSASData
import NSASTensor

extension DARTSCNNSpace {
    /// A lower bound of the bytes a network of `options` needs on `data`: weights, gradients and
    /// momentum (12 bytes a parameter; the supernet holds every op of every edge, about 6 C^2
    /// parameters an edge, a stand-alone network at least the cells' 1x1 preprocessing), and, when
    /// training, the activations one step keeps for its backward pass (at least four tensors for
    /// each of a cell's 8 path edges and one a node, batch x C x H x W each); evaluation keeps the
    /// batch's images and one cell's worth for a slice of `Tensor.evaluationSlice` images.
    public static func memoryEstimate(_ options: DARTSCNNOptions, data: DataSplits, batch: Int, training: Bool, supernet: Bool) -> Double {
        let config = CNNConfig(layers: options.layers, channels: options.channels, inputChannels: data.channels, imageSize: data.imageSize)
        let b = Double(batch), stem = Double(config.stemMultiplier * config.channels)
        var size = Double(config.imageSize)
        var params = stem * Double(config.inputChannels) * 9, activations = 2 * b * stem * size * size
        var (cpp, cp, c) = (stem, stem, Double(config.channels))
        var cellActivations = 0.0
        for i in 0..<config.layers {
            if config.reductionCells.contains(i) { c *= 2; size /= 2 }
            params += (cpp + cp) * c + (supernet ? 14 * 6 * c * c : 0)
            cellActivations = b * c * size * size * Double(4 * 8 + config.nodes)
            activations += cellActivations
            (cpp, cp) = (cp, Double(config.nodes) * c)
        }
        let evaluation = b * Double(config.inputChannels) * Double(config.imageSize * config.imageSize)
            + cellActivations / max(b, 1) * min(b, Double(Tensor.evaluationSlice))
        return params * (training ? 12 : 4) + 4 * (training ? activations : evaluation)
    }
}
