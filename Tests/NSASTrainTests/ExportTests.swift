import Foundation
import Testing

/// `nsas-ckpt export`: every weight (BN statistics included) read back with numpy from the .npz
/// and from the safetensors bytes (parsed by its specification) equals the checkpoint's, as
/// the Python reader (python/nsas_ckpt) reads it; its load and load_run give the run's state and metrics.
@Suite struct ExportTests {
    @Test(.enabled(if: nsasTrainBinary != nil && python3 != nil)) func npzAndSafetensorsRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsas-export-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (p, err) = try train(["--method", "gdas", "--epochs", "1", "--out", dir + "/run"] + KillResumeTests.cnn, wait: true)
        #expect(p.terminationStatus == 0, "\(err)")
        for format in ["npz", "safetensors"] {
            let r = try command("nsas-ckpt", ["export", dir + "/run", "--format", format, "--out", dir + "/w." + format, "--genotype"])
            #expect(r.status == 0, "\(r.err)")
        }
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("python").path
        let script = """
            import sys, json, struct, numpy as np
            sys.path.insert(0, sys.argv[1]); import nsas_ckpt  # the package in python/
            ck = nsas_ckpt.read(sys.argv[2] + "/run/epoch-0001.nsasckpt")
            want = dict(ck.tensors("weights")); want.update({"arch." + k: v for k, v in ck.tensors("arch").items()})
            z = np.load(sys.argv[2] + "/w.npz")
            assert sorted(z.files) == sorted(want), "npz names"
            assert all(z[k].dtype == np.float32 and np.array_equal(z[k], want[k]) for k in want), "npz values"
            b = open(sys.argv[2] + "/w.safetensors", "rb").read()
            (n,) = struct.unpack("<Q", b[:8]); h = json.loads(b[8:8 + n]); meta = h.pop("__metadata__")
            assert meta["method"] == "gdas" and meta["epoch"] == "1", meta
            assert sorted(h) == sorted(want), "safetensors names"
            for k, e in h.items():
                lo, hi = e["data_offsets"]
                assert e["dtype"] == "F32"
                a = np.frombuffer(b[8 + n + lo:8 + n + hi], "<f4").reshape(e["shape"])
                assert np.array_equal(a, want[k]), k
            assert (8 + n) % 8 == 0
            one = nsas_ckpt.load(sys.argv[2] + "/run/epoch-0001.nsasckpt")
            assert one["state"]["epoch"] == 1 and len(one["paths"]) == 3 and "alpha.0" in one["tensors"]["arch"]
            rows = nsas_ckpt.load_run(sys.argv[2] + "/run")
            assert [r["epoch"] for r in rows] == [1] and "trainLoss" in rows[0] and "pathPasses" in rows[0], rows
            try:
                nsas_ckpt.read(sys.argv[2] + "/w.npz"); assert False
            except nsas_ckpt.CheckpointError:
                pass
            print(len(want))
            """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: python3!)
        py.arguments = ["-c", script, tools, dir]
        let out = Pipe(), perr = Pipe()
        py.standardOutput = out; py.standardError = perr
        try py.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        py.waitUntilExit()
        #expect(py.terminationStatus == 0, "\(String(decoding: perr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect((Int(printed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 100)
        // Bad requests: one line each.
        let noFormat = try command("nsas-ckpt", ["export", dir + "/run", "--out", dir + "/x"])
        #expect(noFormat.status == 64 && noFormat.err.contains("--out needs --format"), "\(noFormat.err)")
        let badSection = try command("nsas-ckpt", ["export", dir + "/run", "--format", "npz", "--out", dir + "/x", "--sections", "wpl"])
        #expect(badSection.status == 1 && badSection.err.contains("is not in this checkpoint"), "\(badSection.err)")
    }
}
