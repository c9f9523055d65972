import Foundation
import NSASCheckpoint
import NSASTensor

/// WPL's state (Benyahia et al. 2019, Eq. 4): per parameter the running diagonal Fisher estimate F
/// and theta*, the weights when the current path started. `apply` adds eps * F * (theta - theta*)
/// to the gradients, then lets F learn the new squared gradients. Shared by every space; all its
/// arithmetic runs through the backend.
struct WPLPenalty {
    /// By position in the parameter list; nil until first used.
    var fisher: [Tensor?] = [], anchor: [Tensor] = []

    /// theta* = the current weights (a new path starts).
    mutating func anchor(at params: [Tensor]) {
        if fisher.isEmpty { fisher = params.map { _ in nil } }
        anchor = params.map { $0.detach() }
    }

    /// Adds the penalty's gradient (with the Fisher of earlier paths), then updates the Fisher.
    mutating func apply(_ params: [Tensor], eps: Float, decay: Float) throws {
        if fisher.isEmpty { fisher = params.map { _ in nil } }
        if anchor.isEmpty { anchor = params.map { $0.detach() } }
        try withNoGrad {
            for (i, p) in params.enumerated() {
                guard let g = p.gradTensor else { continue }
                let f = fisher[i] ?? Tensor(zeros: p.shape)
                let squared = try g * g
                try g.add(try (p - anchor[i]) * f, scaledBy: eps)   // penalty with the Fisher of earlier paths
                f.multiply(by: decay)                               // then the Fisher learns this gradient
                try f.add(squared, scaledBy: 1 - decay)
                fisher[i] = f
            }
        }
    }

    /// Checkpoint sections: Fisher and theta* by parameter name, the current path.
    func sections(_ params: [Tensor], named: [(String, Tensor)], path: String?) throws -> [CheckpointWriter.Section] {
        guard !fisher.isEmpty else { return [] }
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        var tensors: [StoredTensor] = []
        for (i, p) in params.enumerated() {
            guard let f = fisher[i] else { continue }
            let n = nameOf[ObjectIdentifier(p)] ?? "\(i)"
            tensors.append(StoredTensor(name: "fisher." + n, shape: p.shape, values: f.array))
            tensors.append(StoredTensor(name: "anchor." + n, shape: p.shape, values: anchor[i].array))
        }
        let state = try JSONSerialization.data(withJSONObject: ["path": path ?? ""], options: [.sortedKeys])
        return [CheckpointWriter.Section("wpl", TensorCodec.encode(tensors), codec: .zstdShuffle4), CheckpointWriter.Section("wpl_state", Array(state))]
    }

    /// Restores from a checkpoint's sections; the stored path text (nil without a `wpl` section).
    mutating func restore(_ f: CheckpointFile, _ params: [Tensor], named: [(String, Tensor)]) throws -> String? {
        guard f.has("wpl") else { return nil }
        let stored = Dictionary(try f.tensors("wpl").map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        let nameOf = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        fisher = []; anchor = []
        for (i, p) in params.enumerated() {
            let n = nameOf[ObjectIdentifier(p)] ?? "\(i)"
            if let v = stored["fisher." + n] {
                let t = Tensor(zeros: p.shape)
                do { try t.load(v) } catch { throw CheckpointError(f.path, section: "wpl", "fisher.\(n): \(error)") }
                fisher.append(t)
            } else {
                fisher.append(nil)
            }
            let a = p.detach()
            if let v = stored["anchor." + n] {
                do { try a.load(v) } catch { throw CheckpointError(f.path, section: "wpl", "anchor.\(n): \(error)") }
            }
            anchor.append(a)
        }
        guard let obj = try JSONSerialization.jsonObject(with: Data(f.read("wpl_state"))) as? [String: Any],
              let path = obj["path"] as? String else {
            throw CheckpointError(f.path, section: "wpl_state", "is not the expected JSON")
        }
        return path
    }
}
