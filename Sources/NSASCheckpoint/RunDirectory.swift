import Foundation

/// The checkpoints of a run folder.
public enum RunDirectory {
    /// Checkpoint files of a folder in epoch order, or the file itself.
    public static func files(_ path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError(path, "not found", advice: "give a checkpoint file or a run folder")
        }
        guard isDir.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".nsasckpt") && !$0.hasPrefix(".") }.sorted()
        guard !names.isEmpty else { throw CheckpointError(path, "holds no checkpoints (*.nsasckpt)") }
        return names.map { (path as NSString).appendingPathComponent($0) }
    }

    /// The newest complete checkpoint: the one `latest` names when it opens, else the newest that opens.
    public static func latest(_ dir: String) throws -> String {
        let pointer = (dir as NSString).appendingPathComponent("latest")
        if let name = try? String(contentsOfFile: pointer, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) {
            // `latest` names a file of this folder, never a path elsewhere.
            guard !name.contains("/"), name != "..", name != "." else {
                throw CheckpointError(pointer, "names \(name.prefix(200)), not a checkpoint of this folder", advice: "remove the file; the newest readable checkpoint is used then")
            }
            let p = (dir as NSString).appendingPathComponent(name)
            if (try? CheckpointFile(p)) != nil { return p }
        }
        for f in try files(dir).reversed() where (try? CheckpointFile(f)) != nil { return f }
        throw CheckpointError(dir, "no readable checkpoint")
    }
}
