import NSASData

extension DARTSRNNSpace {
    /// A lower bound of the bytes a network of `options` needs on `data`: weights, gradients and
    /// momentum of the embedding (tied to the decoder, vocabulary x hidden), the input projection
    /// (2 hidden x 2 hidden) and the nodes' (hidden x 2 hidden each; a supernet holds them for every
    /// edge), and the activations of a step: the logits and their softmax (bptt x batch x
    /// vocabulary, twice) and, when training, four hidden-sized tensors a node and a time step.
    public static func memoryEstimate(_ options: DARTSRNNOptions, data: Corpus, batch: Int, training: Bool, supernet: Bool) -> Double {
        let h = Double(options.hidden), v = Double(data.vocabularySize), n = Double(options.nodes)
        let edges = supernet ? Double(RecurrentCell.edgeCount(nodes: options.nodes)) : n
        let params = v * h + 4 * h * h + edges * 2 * h * h
        let steps = Double(options.bptt) * Double(batch)
        let activations = 2 * steps * v + (training ? 4 * steps * h * n : 4 * Double(batch) * h * n)
        return params * (training ? 12 : 4) + 4 * activations
    }
}
