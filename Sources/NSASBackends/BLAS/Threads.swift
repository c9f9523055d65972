import CBLAS
import Foundation
import NSASKernels

/// How many compute threads a process uses, and why: `--threads N`, else `NSAS_THREADS`, else
/// the CPUs this process may actually use: its affinity mask (taskset, Slurm's CPU binding, a
/// container's cpuset) and its cgroup CPU quota (Kubernetes CPU limits, Slurm's cgroup plugin),
/// never more than either. With one thread no worker thread is started at all.
public enum Threads {
    public struct Decision: Sendable, Equatable {
        public var count: Int
        public var reason: String
    }

    /// The CPUs the affinity mask allows and the cgroup quota's CPUs (rounded up; nil when unlimited).
    public static func limits(cgroupRoot: String = "/sys/fs/cgroup", procCgroup: String = "/proc/self/cgroup") -> (affinity: Int, quota: Int?) {
        let affinity = Int(nsas_affinity_cpus())
        return (affinity > 0 ? affinity : max(1, ProcessInfo.processInfo.activeProcessorCount),
                cgroupQuota(root: cgroupRoot, procCgroup: procCgroup))
    }

    /// The CPU quota of this process's cgroup and its ancestors (the smallest), in CPUs rounded
    /// up: cgroup v2 `cpu.max` ("max 100000" or "150000 100000"), v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
    public static func cgroupQuota(root: String, procCgroup: String) -> Int? {
        guard let text = try? String(contentsOfFile: procCgroup, encoding: .utf8) else { return nil }
        var best: Double? = nil
        func consider(_ q: Double?) { if let q, q > 0 { best = min(best ?? q, q) } }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",")
            var dirs: [String] = []
            var path = parts[2]
            while true {
                dirs.append(path)
                if path == "/" || path.isEmpty { break }
                path = (path as NSString).deletingLastPathComponent
            }
            for d in dirs {
                if parts[1].isEmpty {   // v2 unified hierarchy
                    consider(v2(root + d + "/cpu.max"))
                } else if controllers.contains("cpu") {
                    for mount in ["cpu,cpuacct", "cpu", "cpuacct,cpu"] { consider(v1(root + "/" + mount + d)) }
                }
            }
        }
        return best.map { max(1, Int($0.rounded(.up))) }
    }

    static func v2(_ file: String) -> Double? {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let f = s.split(whereSeparator: \.isWhitespace)
        guard f.count == 2, let quota = Double(f[0]), let period = Double(f[1]), period > 0 else { return nil }   // "max": none
        return quota / period
    }

    static func v1(_ dir: String) -> Double? {
        guard let q = try? String(contentsOfFile: dir + "/cpu.cfs_quota_us", encoding: .utf8),
              let p = try? String(contentsOfFile: dir + "/cpu.cfs_period_us", encoding: .utf8),
              let quota = Double(q.trimmingCharacters(in: .whitespacesAndNewlines)),
              let period = Double(p.trimmingCharacters(in: .whitespacesAndNewlines)), quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// The thread count for a requested one (`--threads`), the environment and the machine.
    public static func decide(requested: Int?, environment: [String: String] = ProcessInfo.processInfo.environment,
                              limits: (affinity: Int, quota: Int?) = limits()) throws -> Decision {
        let usable = min(limits.affinity, limits.quota ?? Int.max)
        let why = "this process may use \(usable) CPU\(usable == 1 ? "" : "s"): \(limits.affinity) in its affinity mask, "
            + (limits.quota.map { "a cgroup CPU quota of \($0)" } ?? "no cgroup CPU quota")
        if let n = requested {
            guard (1...1024).contains(n) else { throw ThreadsError("--threads must be between 1 and 1024, not \(n)") }
            return Decision(count: n, reason: "--threads \(n)" + (n > usable ? "; more than \(why)" : ""))
        }
        if let text = environment["NSAS_THREADS"] {
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
                throw ThreadsError("NSAS_THREADS must be a whole number between 1 and 1024, not '\(text)'")
            }
            return Decision(count: n, reason: "NSAS_THREADS=\(n)" + (n > usable ? "; more than \(why)" : ""))
        }
        return Decision(count: usable, reason: why)
    }

    /// Sets the thread count of every parallel loop (before the first one runs; the worker pool
    /// starts at its first parallel job with count - 1 workers, none for one thread).
    public static func configure(_ d: Decision) {
        Parallel.threads = d.count
        Parallel.threadReason = d.reason
        settleOpenBLAS()
    }

    /// OpenBLAS single-threaded (this backend splits the work itself) and, with one thread, its
    /// server threads stopped. Setting its thread count restarts them, so this runs last, at
    /// configuration and when the backend is made.
    static func settleOpenBLAS() {
        _ = OpenBLASCore.status   // the core check runs before OpenBLAS is touched
        openblas_set_num_threads(1)
        if Parallel.threads == 1 { _ = blas_thread_shutdown_() }
    }
}

public struct ThreadsError: Error, CustomStringConvertible {
    public var description: String
    init(_ m: String) { description = m }
}
