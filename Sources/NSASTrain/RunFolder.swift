import Foundation
import NSASCheckpoint
import NSASRun

/// A run folder claimed by one writer: an exclusive lock (`flock` on DIR/.lock) held for the
/// process's life, so a second run or resume on the same folder is refused; a fresh run refuses a
/// folder that already holds one (unless `overwrite`, which moves it aside); a resumed one loses
/// the temporary files of a killed write and the metrics records of epochs it will train again.
public struct RunFolder {
    public let path: String
    /// Lock descriptors stay open (and locked) until the process ends.
    nonisolated(unsafe) static var held: [Int32] = []

    /// Claims `path` for a new run (`fresh`) or for continuing the one it holds.
    public static func claim(_ path: String, fresh: Bool, overwrite: Bool = false) throws -> RunFolder {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw RunError.output(path: path, reason: "is a file, not a run folder") }
            if fresh, let held = existingRun(path) {
                guard overwrite else {
                    throw RunError.output(path: path, reason: "holds a run (\(held)); continue it with --resume \(path), or give --overwrite to move it aside")
                }
                try lock(path)   // nobody may be writing it while it moves
                let aside = path + ".replaced-" + stamp()
                do { try fm.moveItem(atPath: path, toPath: aside) } catch {
                    throw RunError.output(path: path, reason: "cannot be moved aside to \(aside) (\(error.localizedDescription))")
                }
                FileHandle.standardError.write(Data("nsas-train: moved the earlier run in \(path) to \(aside)\n".utf8))
            }
        }
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw RunError.output(path: path, reason: "cannot create the run folder (\(error.localizedDescription))")
        }
        try lock(path)
        return RunFolder(path: path)
    }

    static func stamp() -> String {
        let f = DateFormatter(); f.dateFormat = "yyyyMMdd-HHmmss"; f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }

    /// A checkpoint or metrics the folder already holds, by name.
    static func existingRun(_ path: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if let c = names.filter({ $0.hasSuffix(".nsasckpt") && !$0.hasPrefix(".") }).sorted().last { return c }
        let metrics = (path as NSString).appendingPathComponent("metrics.jsonl")
        if let size = (try? FileManager.default.attributesOfItem(atPath: metrics))?[.size] as? Int, size > 0 { return "metrics.jsonl" }
        return nil
    }

    static func lock(_ path: String) throws {
        let file = (path as NSString).appendingPathComponent(".lock")
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.output(path: file, reason: "cannot be opened (\(String(cString: strerror(errno))))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            close(fd)
            throw RunError.output(path: path, reason: e == EWOULDBLOCK ? "another nsas-train is writing this run folder (it holds the lock); wait for it or use another folder"
                                                                  : "cannot be locked (\(String(cString: strerror(e))))")
        }
        held.append(fd)
    }

    /// The epochs the newest readable checkpoint of the folder completed.
    public func completedEpochs() throws -> Int { try RunSchema.state(CheckpointFile(RunDirectory.latest(path))).epoch }

    /// Before a resume from epoch `epoch`: removes temporary files of interrupted writes and cuts
    /// metrics.jsonl back to the records of epochs up to `epoch` (an epoch trained again would
    /// otherwise be recorded twice).
    public func prepareResume(after epoch: Int) throws {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
            try? fm.removeItem(atPath: (path as NSString).appendingPathComponent(name))
        }
        let metrics = (path as NSString).appendingPathComponent("metrics.jsonl")
        guard let data = fm.contents(atPath: metrics) else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        let kept = lines.filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return false }   // a torn last line
            if let e = obj["epoch"] as? Int, e > epoch { return false }
            return obj["event"] as? String != "selection"
        }
        guard kept.count != lines.count else { return }
        let text = kept.map(String.init).joined(separator: "\n") + (kept.isEmpty ? "" : "\n")
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: metrics), options: .atomic) } catch {
            throw RunError.output(path: metrics, reason: "cannot be rewritten (\(error.localizedDescription))")
        }
    }
}
