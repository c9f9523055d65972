import Foundation
import NSASCheckpoint
import Testing

/// The nsas-train built beside the test bundle (swift test builds the executables too).
let nsasTrainBinary: String? = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent("nsas-train").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}()

@Suite(.serialized) struct KillResumeTests {
    func train(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nsasTrainBinary!)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test(.enabled(if: nsasTrainBinary != nil, "needs the nsas-train executable beside the test bundle (run `swift build` first)"))
    func killedRunResumesToTheSameWeights() throws {
        let base = NSTemporaryDirectory() + "nsas-kill-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        let common = ["--data", "default", "--epochs", "4", "--max-steps", "5", "--layers", "3", "--channels", "4",
                      "--batch", "16", "--search-samples", "1", "--search-top", "1", "--eval-batch", "1000", "--quiet"]
        let clean = try train(common + ["--out", base + "/clean"])
        clean.waitUntilExit()
        #expect(clean.terminationStatus == 0)

        // Kill a second run at several moments after its first checkpoint, resuming each time.
        let dir = base + "/killed"
        let first = try train(common + ["--out", dir])
        while !FileManager.default.fileExists(atPath: dir + "/epoch-0001.nsasckpt") && first.isRunning { usleep(20_000) }
        usleep(150_000)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        var resumes = 0
        while !FileManager.default.fileExists(atPath: dir + "/epoch-0004.nsasckpt") && resumes < 6 {
            // No torn checkpoint: every file present verifies.
            for f in try RunDirectory.files(dir) { try CheckpointFile(f).verify() }
            let r = try train(["--resume", dir, "--quiet"])
            usleep(useconds_t(200_000 + 150_000 * resumes))
            if r.isRunning { kill(r.processIdentifier, SIGKILL) }
            r.waitUntilExit()
            resumes += 1
        }
        if !FileManager.default.fileExists(atPath: dir + "/epoch-0004.nsasckpt") {
            let r = try train(["--resume", dir, "--quiet"]); r.waitUntilExit()
            #expect(r.terminationStatus == 0)
        }
        for f in try RunDirectory.files(dir) { try CheckpointFile(f).verify() }
        let a = try CheckpointFile(base + "/clean/epoch-0004.nsasckpt").tensors("weights")
        let b = try CheckpointFile(dir + "/epoch-0004.nsasckpt").tensors("weights")
        #expect(a == b, "the killed and resumed run ended with other weights")
    }
}
