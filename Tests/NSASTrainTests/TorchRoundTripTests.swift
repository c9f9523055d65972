import Foundation
import NSASCheckpoint
import NSASRun
import NSASSearchSpace
import NSASTensor
import Testing

/// A python3 with torch (and numpy): NSAS_TORCH_PYTHON, /tmp/torch-venv, or a virtual environment
/// made once under .build/ from a CPU wheel in /opt/wheels (plus numpy and safetensors from PyPI).
/// Nil (the test then says why it skips) where none can be had.
let torchPython: (python: String?, why: String) = {
    func works(_ py: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: py),
              let p = try? Process.run(URL(fileURLWithPath: py), arguments: ["-c", "import torch, numpy"]) else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
    if let env = ProcessInfo.processInfo.environment["NSAS_TORCH_PYTHON"], works(env) { return (env, "NSAS_TORCH_PYTHON") }
    if works("/tmp/torch-venv/bin/python") { return ("/tmp/torch-venv/bin/python", "/tmp/torch-venv") }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let venv = root.appendingPathComponent(".build/torch-venv").path
    if works(venv + "/bin/python") { return (venv + "/bin/python", venv) }
    let wheels = (try? FileManager.default.contentsOfDirectory(atPath: "/opt/wheels"))?.filter { $0.hasPrefix("torch-") && $0.contains("cpu") && $0.hasSuffix(".whl") } ?? []
    guard let wheel = wheels.sorted().last else { return (nil, "no python with torch and no CPU torch wheel in /opt/wheels") }
    func run(_ exe: String, _ args: [String]) -> Bool {
        guard let p = try? Process.run(URL(fileURLWithPath: exe), arguments: args) else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
    guard run("/usr/bin/env", ["python3", "-m", "venv", venv]),
          run(venv + "/bin/pip", ["install", "-q", "/opt/wheels/" + wheel, "numpy", "safetensors"]), works(venv + "/bin/python") else {
        return (nil, "could not install /opt/wheels/\(wheel) with numpy and safetensors into \(venv)")
    }
    return (venv + "/bin/python", venv + " (made from /opt/wheels/\(wheel))")
}()

/// `nsas-ckpt export --torch-names darts`: a stand-alone network's weights loaded with
/// `load_state_dict(safetensors.torch.load_file(...))` (strict) into a DARTS NetworkCIFAR written
/// here in PyTorch (the original code's layout, with the input channels as a parameter) give
/// nsas's logits on the same images.
@Suite(.serialized) struct TorchRoundTripTests {
    static let network = #"""
        import sys, json, struct, collections, numpy as np, torch, torch.nn as nn
        Genotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
        class ReLUConvBN(nn.Module):
            def __init__(s, ci, co, k, st, p, affine=True):
                super().__init__(); s.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(ci, co, k, stride=st, padding=p, bias=False), nn.BatchNorm2d(co, affine=affine))
            def forward(s, x): return s.op(x)
        class DilConv(nn.Module):
            def __init__(s, ci, co, k, st, p, d, affine=True):
                super().__init__(); s.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(ci, ci, k, st, p, dilation=d, groups=ci, bias=False), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co, affine=affine))
            def forward(s, x): return s.op(x)
        class SepConv(nn.Module):
            def __init__(s, ci, co, k, st, p, affine=True):
                super().__init__(); s.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(ci, ci, k, st, p, groups=ci, bias=False), nn.Conv2d(ci, ci, 1, bias=False), nn.BatchNorm2d(ci, affine=affine),
                    nn.ReLU(inplace=False), nn.Conv2d(ci, ci, k, 1, p, groups=ci, bias=False), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co, affine=affine))
            def forward(s, x): return s.op(x)
        class Identity(nn.Module):
            def forward(s, x): return x
        class Zero(nn.Module):
            def __init__(s, st): super().__init__(); s.stride = st
            def forward(s, x): return x.mul(0.) if s.stride == 1 else x[:, :, ::s.stride, ::s.stride].mul(0.)
        class FactorizedReduce(nn.Module):
            def __init__(s, ci, co, affine=True):
                super().__init__(); s.relu = nn.ReLU(inplace=False); s.conv_1 = nn.Conv2d(ci, co // 2, 1, stride=2, bias=False); s.conv_2 = nn.Conv2d(ci, co // 2, 1, stride=2, bias=False); s.bn = nn.BatchNorm2d(co, affine=affine)
            def forward(s, x): x = s.relu(x); return s.bn(torch.cat([s.conv_1(x), s.conv_2(x[:, :, 1:, 1:])], dim=1))
        OPS = {"none": lambda C, st, a: Zero(st),
               "avg_pool_3x3": lambda C, st, a: nn.AvgPool2d(3, stride=st, padding=1, count_include_pad=False),
               "max_pool_3x3": lambda C, st, a: nn.MaxPool2d(3, stride=st, padding=1),
               "skip_connect": lambda C, st, a: Identity() if st == 1 else FactorizedReduce(C, C, a),
               "sep_conv_3x3": lambda C, st, a: SepConv(C, C, 3, st, 1, a), "sep_conv_5x5": lambda C, st, a: SepConv(C, C, 5, st, 2, a),
               "dil_conv_3x3": lambda C, st, a: DilConv(C, C, 3, st, 2, 2, a), "dil_conv_5x5": lambda C, st, a: DilConv(C, C, 5, st, 4, 2, a)}
        class Cell(nn.Module):
            def __init__(s, g, Cpp, Cp, C, red, redp):
                super().__init__()
                s.preprocess0 = FactorizedReduce(Cpp, C) if redp else ReLUConvBN(Cpp, C, 1, 1, 0)
                s.preprocess1 = ReLUConvBN(Cp, C, 1, 1, 0)
                names, idx = zip(*(g.reduce if red else g.normal)); s._concat = g.reduce_concat if red else g.normal_concat
                s._steps = len(names) // 2; s.multiplier = len(s._concat); s._indices = idx; s.reduction = red
                s._ops = nn.ModuleList([OPS[n](C, 2 if red and i < 2 else 1, True) for n, i in zip(names, idx)])
            def forward(s, s0, s1):
                st = [s.preprocess0(s0), s.preprocess1(s1)]
                for i in range(s._steps):
                    st.append(s._ops[2 * i](st[s._indices[2 * i]]) + s._ops[2 * i + 1](st[s._indices[2 * i + 1]]))
                return torch.cat([st[i] for i in s._concat], dim=1)
        class NetworkCIFAR(nn.Module):
            def __init__(s, C, classes, layers, g, in_channels=3, stem_multiplier=3):
                super().__init__(); Cc = stem_multiplier * C
                s.stem = nn.Sequential(nn.Conv2d(in_channels, Cc, 3, padding=1, bias=False), nn.BatchNorm2d(Cc))
                Cpp, Cp, Cc = Cc, Cc, C; s.cells = nn.ModuleList(); redp = False
                for i in range(layers):
                    red = i in [layers // 3, 2 * layers // 3]
                    if red: Cc *= 2
                    cell = Cell(g, Cpp, Cp, Cc, red, redp); redp = red; s.cells.append(cell); Cpp, Cp = Cp, cell.multiplier * Cc
                s.global_pooling = nn.AdaptiveAvgPool2d(1); s.classifier = nn.Linear(Cp, classes)
            def forward(s, x):
                s0 = s1 = s.stem(x)
                for c in s.cells: s0, s1 = s1, c(s0, s1)
                return s.classifier(s.global_pooling(s1).view(s1.size(0), -1))
        PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
        class MixedOp(nn.Module):
            def __init__(s, C, st):
                super().__init__(); s._ops = nn.ModuleList()
                for p in PRIMITIVES:
                    op = OPS[p](C, st, False)
                    s._ops.append(nn.Sequential(op, nn.BatchNorm2d(C, affine=False)) if "pool" in p else op)
        class SearchCell(nn.Module):
            def __init__(s, Cpp, Cp, C, red, redp, steps=4):
                super().__init__()
                s.preprocess0 = FactorizedReduce(Cpp, C, affine=False) if redp else ReLUConvBN(Cpp, C, 1, 1, 0, affine=False)
                s.preprocess1 = ReLUConvBN(Cp, C, 1, 1, 0, affine=False)
                s._ops = nn.ModuleList([MixedOp(C, 2 if red and j < 2 else 1) for i in range(steps) for j in range(2 + i)])
        class Network(nn.Module):
            def __init__(s, C, classes, layers, in_channels=3, steps=4, multiplier=4, stem_multiplier=3):
                super().__init__(); Cc = stem_multiplier * C
                s.stem = nn.Sequential(nn.Conv2d(in_channels, Cc, 3, padding=1, bias=False), nn.BatchNorm2d(Cc))
                Cpp, Cp, Cc = Cc, Cc, C; s.cells = nn.ModuleList(); redp = False
                for i in range(layers):
                    red = i in [layers // 3, 2 * layers // 3]
                    if red: Cc *= 2
                    s.cells.append(SearchCell(Cpp, Cp, Cc, red, redp)); redp = red; Cpp, Cp = Cp, multiplier * Cc
                s.global_pooling = nn.AdaptiveAvgPool2d(1); s.classifier = nn.Linear(Cp, classes)
        d = sys.argv[1]; meta = json.load(open(d + "/meta.json"))
        if len(sys.argv) > 2:   # the search supernet's export: DARTS's Network must load it strictly
            from safetensors.torch import load_file
            Network(meta["channels"], meta["classes"], meta["layers"], in_channels=meta["input_channels"]).load_state_dict(load_file(sys.argv[2]))
            print(json.dumps({"search_network_loaded": True})); sys.exit(0)
        g = eval(meta["genotype"], {"Genotype": Genotype, "range": range})
        model = NetworkCIFAR(meta["channels"], meta["classes"], meta["layers"], g, in_channels=meta["input_channels"])
        try:
            from safetensors.torch import load_file; sd = load_file(d + "/w.safetensors"); how = "safetensors.torch.load_file"
        except ImportError:
            b = open(d + "/w.safetensors", "rb").read(); (n,) = struct.unpack("<Q", b[:8]); h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
            sd = {k: torch.from_numpy(np.frombuffer(b[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]], "<f4" if e["dtype"] == "F32" else "<i8").reshape(e["shape"]).copy()) for k, e in h.items()}
            how = "the safetensors layout parsed with numpy (no safetensors package)"
        model.load_state_dict(sd)   # strict: every name and shape matches
        model.eval()
        x = torch.from_numpy(np.fromfile(d + "/images.f32", "<f4").reshape(meta["shape"]))
        with torch.no_grad(): y = model(x).numpy()
        ours = np.fromfile(d + "/logits.f32", "<f4").reshape(y.shape)
        print(json.dumps({"max_difference": float(np.abs(y - ours).max()), "same_predictions": bool((y.argmax(1) == ours.argmax(1)).all()),
                          "torch": torch.__version__, "loaded_with": how}))
        """#

    @Test(.enabled(if: nsasTrainBinary != nil)) func standaloneWeightsGiveTheSameLogitsInPyTorch() throws {
        guard let py = torchPython.python else {
            print("TorchRoundTripTests: skipped: \(torchPython.why)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-torch-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A few steps of stand-alone training, so BN statistics and weights are not the initial ones.
        // Every op, FactorizedReduce skips (reduce edges from the cell inputs) and pools included.
        let g = "Genotype(normal=[('sep_conv_5x5', 1), ('dil_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 1), "
            + "('avg_pool_3x3', 0), ('skip_connect', 0), ('none', 1)], normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 0), ('max_pool_3x3', 1), "
            + "('none', 0), ('sep_conv_3x3', 2), ('avg_pool_3x3', 1), ('dil_conv_5x5', 3), ('skip_connect', 1), ('sep_conv_5x5', 4)], reduce_concat=[2, 3, 4, 5])"
        let (p, err) = try train(["--method", "standalone", "--genotype", g, "--epochs", "1", "--auxiliary-weight", "0",
                                  "--out", dir + "/run"] + KillResumeTests.cnn, wait: true)
        #expect(p.terminationStatus == 0, "\(err)")
        let r = try command("nsas-ckpt", ["export", dir + "/run", "--format", "safetensors", "--torch-names", "darts", "--out", dir + "/w.safetensors"])
        #expect(r.status == 0, "\(r.err)")

        // nsas's logits on 6 images, from the same checkpoint.
        let f = try CheckpointFile(try RunDirectory.latest(dir + "/run"))
        let config = try RunSchema.config(f)
        let genotype = try Genotype(parsing: config.run.standalone!.genotype)
        let cnn = CNNConfig(layers: 3, channels: 4, inputChannels: 1, imageSize: 28, classes: 10)
        var rng = RNG(seed: 7)
        let net = try StandaloneNetwork(genotype, config: cnn, auxiliary: false, rng: &rng)
        try RunSchema.load(try f.tensors("weights"), into: net.named("network"), path: f.path, section: "weights")
        let shape = [6, 1, 28, 28]
        let images = (0..<shape.reduce(1, *)).map { _ in rng.uniform(-1, 1) }
        let logits = try withNoGrad { try net.forward(try Tensor(images, shape: shape), ForwardContext(training: false)).logits }.array
        try Data(images.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: dir + "/images.f32"))
        try Data(logits.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: dir + "/logits.f32"))
        let meta: [String: Any] = ["genotype": genotype.description, "channels": 4, "layers": 3, "classes": 10, "input_channels": 1, "shape": shape]
        try JSONSerialization.data(withJSONObject: meta).write(to: URL(fileURLWithPath: dir + "/meta.json"))

        let script = Self.network
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: py)
        proc.arguments = ["-c", script, dir]
        let out = Pipe(), perr = Pipe()
        proc.standardOutput = out; proc.standardError = perr
        try proc.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: perr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        proc.waitUntilExit()
        #expect(proc.terminationStatus == 0, "\(errText)")
        let result = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        let diff = result["max_difference"] as? Double ?? .infinity
        print("TorchRoundTripTests: torch \(result["torch"] ?? "?") from \(torchPython.why), loaded with \(result["loaded_with"] ?? "?"): max logit difference \(diff)")
        #expect(diff < 1e-4, "\(text)")
        #expect(result["same_predictions"] as? Bool == true)

        // A search supernet's export loads strictly into DARTS's search Network (model_search.py).
        let (q, qerr) = try train(["--method", "randomnas", "--epochs", "1", "--search-samples", "1", "--search-top", "1", "--out", dir + "/search"]
                                  + KillResumeTests.cnn, wait: true)
        #expect(q.terminationStatus == 0, "\(qerr)")
        let e = try command("nsas-ckpt", ["export", dir + "/search", "--format", "safetensors", "--torch-names", "darts", "--out", dir + "/s.safetensors"])
        #expect(e.status == 0, "\(e.err)")
        if (try? Process.run(URL(fileURLWithPath: py), arguments: ["-c", "import safetensors"])).map({ $0.waitUntilExit(); return $0.terminationStatus == 0 }) == true {
            let sp = Process()
            sp.executableURL = URL(fileURLWithPath: py)
            sp.arguments = ["-c", script, dir, dir + "/s.safetensors"]
            let serr = Pipe()
            sp.standardOutput = FileHandle.nullDevice; sp.standardError = serr
            try sp.run()
            let sText = String(decoding: serr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            sp.waitUntilExit()
            #expect(sp.terminationStatus == 0, "\(sText)")
        } else {
            print("TorchRoundTripTests: the search Network check needs the safetensors package; skipped")
        }
    }
}
