import Foundation
import NSASCheckpoint
import NSASTensor

/// WPL's state (Benyahia et al. 2019, Eq. 4): per parameter the running diagonal Fisher estimate F
/// and theta*, the weights when the current path started. `apply` adds eps * F * (theta - theta*)
/// to the gradients, then lets F learn the new squared gradients. Shared by both search spaces.
struct WPLPenalty {
    /// By position in the parameter list; empty until first used.
    var fisher: [[Float]] = [], anchor: [[Float]] = []

    /// theta* = the current weights (a new path starts).
    mutating func anchor(at params: [Tensor]) {
        if fisher.isEmpty { fisher = params.map { _ in [] } }
        anchor = params.map(\.array)
    }

    /// Adds the penalty's gradient (with the Fisher of earlier paths), then updates the Fisher.
    mutating func apply(_ params: [Tensor], eps: Float, decay: Float) {
        if fisher.isEmpty { fisher = params.map { _ in [] } }
        if anchor.isEmpty { anchor = params.map(\.array) }
        for (i, p) in params.enumerated() {
            guard p.hasGradient else { continue }
            if fisher[i].isEmpty { fisher[i] = [Float](repeating: 0, count: p.count) }
            let gp = p.gradPtr, w = p.ptr
            fisher[i].withUnsafeMutableBufferPointer { f in
                anchor[i].withUnsafeBufferPointer { a in
                    for j in 0..<p.count {
                        let gj = gp[j]
                        gp[j] = gj + eps * f[j] * (w[j] - a[j])     // penalty with the Fisher of earlier paths
                        f[j] = decay * f[j] + (1 - decay) * gj * gj  // then the Fisher learns this gradient
                    }
                }
            }
        }
    }

    /// Checkpoint sections: Fisher and theta* by parameter name, the current path.
    func sections(_ params: [Tensor], named: [(String, Tensor)], path: String?) throws -> [CheckpointWriter.Section] {
        guard !fisher.isEmpty else { return [] }
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        var tensors: [StoredTensor] = []
        for (i, p) in params.enumerated() where !fisher[i].isEmpty {
            let n = nameOf[ObjectIdentifier(p)] ?? "\(i)"
            tensors.append(StoredTensor(name: "fisher." + n, shape: p.shape, values: fisher[i]))
            tensors.append(StoredTensor(name: "anchor." + n, shape: p.shape, values: anchor[i]))
        }
        let state = try JSONSerialization.data(withJSONObject: ["path": path ?? ""], options: [.sortedKeys])
        return [CheckpointWriter.Section("wpl", TensorCodec.encode(tensors), codec: .zstdShuffle4), CheckpointWriter.Section("wpl_state", Array(state))]
    }

    /// Restores from a checkpoint's sections; the stored path text (nil without a `wpl` section).
    mutating func restore(_ f: CheckpointFile, _ params: [Tensor], named: [(String, Tensor)]) throws -> String? {
        guard f.has("wpl") else { return nil }
        let stored = Dictionary(try f.tensors("wpl").map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        fisher = params.map { _ in [] }; anchor = params.map { _ in [] }
        for (i, p) in params.enumerated() {
            let n = nameOf[ObjectIdentifier(p)] ?? "\(i)"
            fisher[i] = stored["fisher." + n] ?? []; anchor[i] = stored["anchor." + n] ?? []
            if anchor[i].isEmpty { anchor[i] = p.array }
        }
        guard let obj = try JSONSerialization.jsonObject(with: Data(f.read("wpl_state"))) as? [String: Any],
              let path = obj["path"] as? String else {
            throw CheckpointError(f.path, section: "wpl_state", "is not the expected JSON")
        }
        return path
    }
}
