import Foundation

/// The memory a run may use, and the refusal of runs that cannot fit: every space estimates a
/// lower bound of what a network of its options needs (weights, gradients, momentum and the
/// activations one training step keeps for the backward pass) before anything is built, and a run
/// whose estimate exceeds the memory of this machine (or of its cgroup: a Slurm allocation, a
/// Kubernetes memory limit) is refused with the estimate, instead of swapping for minutes or being
/// killed by the kernel part way.
public enum MemoryBudget {
    /// Bytes this process may use: the machine's memory, or less under a cgroup memory limit.
    public static func available(cgroupRoot: String = "/sys/fs/cgroup", procCgroup: String = "/proc/self/cgroup") -> Double {
        var best = Double(ProcessInfo.processInfo.physicalMemory)
        guard let text = try? String(contentsOfFile: procCgroup, encoding: .utf8) else { return best }
        func consider(_ file: String) {
            guard let s = try? String(contentsOfFile: file, encoding: .utf8),
                  let v = Double(s.trimmingCharacters(in: .whitespacesAndNewlines)), v > 0 else { return }   // "max": none
            best = min(best, v)
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            var path = parts[2]
            while true {
                if parts[1].isEmpty { consider(root(cgroupRoot, path) + "/memory.max") }
                else if parts[1].split(separator: ",").contains("memory") { consider(root(cgroupRoot + "/memory", path) + "/memory.limit_in_bytes") }
                if path == "/" || path.isEmpty { break }
                path = (path as NSString).deletingLastPathComponent
            }
        }
        return best
    }

    static func root(_ base: String, _ path: String) -> String { path == "/" ? base : base + path }

    /// Throws one line with the estimate when `bytes` (a lower bound of what `what` needs) exceeds
    /// the memory available (`available` for tests).
    public static func check(_ bytes: Double, what: String, available: Double = available()) throws {
        guard bytes > available else { return }
        throw SearchSpaceError.option("\(what) needs at least \(gib(bytes)) of memory (estimate), more than the \(gib(available)) this process may use; use a smaller network or batch")
    }

    public static func gib(_ bytes: Double) -> String {
        bytes >= 1_073_741_824 ? String(format: "%.1f GiB", bytes / 1_073_741_824) : String(format: "%.0f MiB", bytes / 1_048_576)
    }
}

extension SearchSpace {
    /// Refuses a network that cannot fit (one line with the estimate), before it is built:
    /// training with the setup's batch (and evaluating with its eval batch), or only evaluating.
    public static func checkMemory(_ options: Options, data: Data, setup: SpaceSetup, supernet: Bool, training: Bool) throws {
        let evaluate = memoryEstimate(options, data: data, batch: setup.evalBatch, training: false, supernet: supernet)
        let bytes = training ? max(evaluate, memoryEstimate(options, data: data, batch: setup.batch, training: true, supernet: supernet)) : evaluate
        try MemoryBudget.check(bytes, what: supernet ? "this \(id) supernet" : "this \(id) network")
    }
}
