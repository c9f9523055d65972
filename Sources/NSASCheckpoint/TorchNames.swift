import Foundation

/// Tensor names of the original DARTS PyTorch code's `state_dict()`: `NetworkCIFAR` (stand-alone,
/// `model.py`) for `network.*` names and `Network` (search, `model_search.py`) for `supernet.*`.
/// Every BN layer also gets the `num_batches_tracked` buffer (an int64 scalar) that PyTorch's
/// `load_state_dict` expects.
public enum TorchNames {
    /// The DARTS name of one of ours, or nil when DARTS has no such tensor. `all` is every name of
    /// the network (a preprocessing BN belongs to a FactorizedReduce when its prefix has conv_1).
    public static func darts(_ name: String, primitives: [String], all: Set<String>) -> String? {
        var parts = name.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { return nil }
        let search = parts[0] == "supernet"
        guard search || parts[0] == "network" else { return nil }
        parts.removeFirst()
        let rest = { (from: Int) in parts[from...].joined(separator: ".") }
        switch parts[0] {
        case "stem":
            // nn.Sequential(conv, BN)
            if parts[1] == "conv" { return "stem.0." + rest(2) }
            if parts[1] == "bn" { return "stem.1." + rest(2) }
            return nil
        case "classifier":
            return name.hasPrefix("network.") || search ? parts.joined(separator: ".") : nil
        case "auxiliary":
            // AuxiliaryHeadCIFAR.features: ReLU, AvgPool, Conv(0..2), BN(3), ReLU, Conv(5), BN(6), ReLU; then classifier.
            let map = ["conv1": "features.2", "bn1": "features.3", "conv2": "features.5", "bn2": "features.6", "classifier": "classifier"]
            guard parts.count >= 3, let m = map[parts[1]] else { return nil }
            return "auxiliary_head.\(m)." + rest(2)
        case "cells":
            guard parts.count >= 4, Int(parts[1]) != nil else { return nil }
            let cell = "cells.\(parts[1])."
            if parts[2].hasPrefix("preprocess") {
                // ReLUConvBN: op = Sequential(ReLU, Conv, BN); FactorizedReduce keeps conv_1, conv_2, bn.
                if parts[3] == "conv" { return cell + parts[2] + ".op.1." + rest(4) }
                let prefix = ([search ? "supernet" : "network"] + parts[0...2]).joined(separator: ".")
                if parts[3] == "bn", !all.contains(prefix + ".conv_1.weight") { return cell + parts[2] + ".op.2." + rest(4) }
                return cell + parts[2...].joined(separator: ".")
            }
            // A FactorizedReduce (skip_connect at stride 2) keeps conv_1, conv_2 and bn as they are.
            func factorized(_ upTo: Int) -> Bool { all.contains(([search ? "supernet" : "network"] + parts[0..<upTo]).joined(separator: ".") + ".conv_1.weight") }
            if !search, parts[2] == "ops", parts.count >= 5, Int(parts[3]) != nil {
                return cell + "_ops.\(parts[3])." + (factorized(4) ? rest(4) : opTail(Array(parts[4...])) ?? "?")
            }
            if search, parts[2] == "edges", parts.count >= 6, Int(parts[3]) != nil, let p = primitives.firstIndex(of: parts[4]) {
                let op = "_ops.\(parts[3])._ops.\(p)."
                // Pools are followed by a BN without affine: nn.Sequential(pool, BN).
                if parts[4].hasSuffix("pool_3x3"), parts[5] == "bn" { return cell + op + "1." + rest(6) }
                return cell + op + (factorized(5) ? rest(5) : opTail(Array(parts[5...])) ?? "?")
            }
            return nil
        default:
            return nil
        }
    }

    /// Inside an op: SepConv (two halves `0`, `1` of ReLU, depthwise, pointwise, BN: op.1-3 and
    /// op.5-7), DilConv (op.1-3), FactorizedReduce (conv_1, conv_2, bn as they are).
    static func opTail(_ p: [String]) -> String? {
        let inner = ["depthwise": 1, "pointwise": 2, "bn": 3]
        if p.count >= 3, let half = Int(p[0]), half == 0 || half == 1, let i = inner[p[1]] {
            return "op.\(i + 4 * half)." + p[2...].joined(separator: ".")
        }
        if p.count >= 2, let i = inner[p[0]] { return "op.\(i)." + p[1...].joined(separator: ".") }
        if let first = p.first, ["conv_1", "conv_2", "bn"].contains(first) { return p.joined(separator: ".") }
        return nil
    }
}
