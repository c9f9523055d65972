import Foundation
import NSASRun

/// Progress for people and metrics for programs. In a terminal the progress line rewrites itself;
/// in a log file it prints a line about every tenth of an epoch. Metrics go to `DIR/metrics.jsonl`,
/// one JSON object a line, flushed as they are written.
public final class RunLog {
    let isTTY: Bool
    let out: (String) -> Void
    var metrics: FileHandle?
    public let directory: String?
    var lastLength = 0

    public init(directory: String?, quiet: Bool = false, out: ((String) -> Void)? = nil) throws {
        isTTY = isatty(STDOUT_FILENO) == 1 && out == nil
        self.out = out ?? (quiet ? { _ in } : { s in FileHandle.standardOutput.write(Data(s.utf8)) })
        self.directory = directory
        if let directory {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw RunError.output(path: directory, reason: "cannot create the output folder (\(error.localizedDescription))")
            }
            let path = (directory as NSString).appendingPathComponent("metrics.jsonl")
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            guard let h = FileHandle(forWritingAtPath: path) else { throw RunError.output(path: path, reason: "cannot open for writing") }
            h.seekToEndOfFile()
            metrics = h
        }
    }

    /// A line that stays.
    public func line(_ s: String) {
        if isTTY && lastLength > 0 { out("\r" + String(repeating: " ", count: lastLength) + "\r"); lastLength = 0 }
        out(s + "\n")
    }

    /// Step progress: rewritten in place in a terminal, every tenth of the steps in a file.
    public func progress(_ s: String, step: Int, of total: Int) {
        if isTTY {
            out("\r" + s + String(repeating: " ", count: max(0, lastLength - s.count)))
            lastLength = s.count
        } else if step == total || step % max(1, total / 10) == 0 {
            out(s + "\n")
        }
    }

    /// One JSON object to metrics.jsonl.
    public func record(_ fields: [String: Any]) {
        guard let metrics else { return }
        if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
            metrics.write(data + Data("\n".utf8))
            try? metrics.synchronize()
        }
    }

    deinit { try? metrics?.close() }
}

/// `1:02:03` or `2:03`.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

enum Timing {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
