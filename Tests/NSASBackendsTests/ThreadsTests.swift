import Foundation
import NSASBackends
import Testing

@Suite struct ThreadsTests {
    func tree(_ files: [String: String]) throws -> String {
        let root = NSTemporaryDirectory() + "nsas-cgroup-\(UUID().uuidString)"
        for (path, text) in files {
            let full = root + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
        return root
    }

    @Test func cgroupV2QuotaIsTheSmallestAlongThePathRoundedUp() throws {
        let root = try tree(["/proc": "0::/kubepods/pod1/ctr\n",
                             "/cg/kubepods/cpu.max": "max 100000\n",
                             "/cg/kubepods/pod1/cpu.max": "250000 100000\n",
                             "/cg/kubepods/pod1/ctr/cpu.max": "150000 100000\n"])
        #expect(Threads.cgroupQuota(root: root + "/cg", procCgroup: root + "/proc") == 2)   // 1.5 CPUs -> 2 threads
        let unlimited = try tree(["/proc": "0::/a\n", "/cg/a/cpu.max": "max 100000\n"])
        #expect(Threads.cgroupQuota(root: unlimited + "/cg", procCgroup: unlimited + "/proc") == nil)
    }

    @Test func cgroupV1Quota() throws {
        let root = try tree(["/proc": "4:memory:/slurm/job1\n2:cpu,cpuacct:/slurm/job1\n",
                             "/cg/cpu,cpuacct/slurm/job1/cpu.cfs_quota_us": "100000\n",
                             "/cg/cpu,cpuacct/slurm/job1/cpu.cfs_period_us": "100000\n",
                             "/cg/cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "/cg/cpu,cpuacct/cpu.cfs_period_us": "100000\n"])
        #expect(Threads.cgroupQuota(root: root + "/cg", procCgroup: root + "/proc") == 1)
        #expect(Threads.cgroupQuota(root: root + "/cg", procCgroup: root + "/missing") == nil)
    }

    @Test func theDecisionTakesFlagThenEnvironmentThenTheUsableCPUs() throws {
        let four = (affinity: 4, quota: Int?.some(3))
        #expect(try Threads.decide(requested: nil, environment: [:], limits: four).count == 3)
        #expect(try Threads.decide(requested: nil, environment: [:], limits: (affinity: 2, quota: nil)).count == 2)
        #expect(try Threads.decide(requested: nil, environment: ["NSAS_THREADS": "1"], limits: four).count == 1)
        let d = try Threads.decide(requested: 8, environment: ["NSAS_THREADS": "1"], limits: four)
        #expect(d.count == 8 && d.reason.contains("--threads 8") && d.reason.contains("more than"))
        #expect(throws: ThreadsError.self) { try Threads.decide(requested: nil, environment: ["NSAS_THREADS": "two"], limits: four) }
        #expect(throws: ThreadsError.self) { try Threads.decide(requested: 0, environment: [:], limits: four) }
        #expect(try Threads.decide(requested: nil, environment: [:], limits: four).reason.contains("cgroup CPU quota of 3"))
    }
}
