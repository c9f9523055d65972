import NSASKernels
import Foundation

/// Splits work over the machine's cores. Small jobs run on the calling thread.
public enum Parallel {
    /// Threads of every parallel loop: set once at start-up (`Threads.configure`); by default the
    /// CPUs this process may use (affinity mask and cgroup quota).
    nonisolated(unsafe) public static var threads: Int = defaultDecision.count
    /// Why `threads` has its value, for start-up lines.
    nonisolated(unsafe) public static var threadReason: String = defaultDecision.reason
    static let defaultDecision = (try? Threads.decide(requested: nil)) ?? Threads.Decision(count: 1, reason: "NSAS_THREADS is not valid: one thread")

    /// Calls body with disjoint ranges covering 0..<count, one per worker, in parallel when
    /// `count * costPerItem` is worth a thread hand-off (about 32k cheap operations).
    @inline(__always)
    public static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        forChunks(count, costPerItem: costPerItem) { _, r in body(r) }
    }

    /// As `forRanges`, also passing each range's chunk index (0..<chunks(count, costPerItem)):
    /// the same index always covers the same range, so per-chunk partial results can be
    /// combined in a fixed order (bit-identical runs for a fixed thread count).
    @inline(__always)
    public static func forChunks(_ count: Int, costPerItem: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let workers = chunks(count, costPerItem: costPerItem)
        if workers <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        // The chunks run on the kernels' thread pool (NSASKernels/pool.c): spinning workers pick a
        // job up in about a microsecond, where waking a dispatch worker took 15-50.
        withoutActuallyEscaping(body) { body in
            var job = Job(count: count, workers: workers, body: body)
            withUnsafeMutablePointer(to: &job) { ptr in
                nsas_pool_run(Int32(threads), Int32(workers), { ctx, chunk in
                    let job = ctx!.assumingMemoryBound(to: Job.self).pointee
                    let t = Int(chunk)
                    let lo = job.count * t / job.workers, hi = job.count * (t + 1) / job.workers
                    if lo < hi { job.body(t, lo..<hi) }
                }, ptr)
            }
        }
    }

    /// Calls body(i) for every i in 0..<count, spread over the workers one item at a time (a
    /// worker takes the next item when it finishes one, so a core slowed by another process
    /// takes fewer). Items run one at a time on the calling thread when there is one thread.
    /// Parallel loops inside body run on the thread that runs the item.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1, threads > 1 else {
            for i in 0..<max(count, 0) { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var item = body
            withUnsafeMutablePointer(to: &item) { ptr in
                nsas_pool_run(Int32(threads), Int32(count), { ctx, i in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, ptr)
            }
        }
    }

    private struct Job {
        let count: Int
        let workers: Int
        let body: (Int, Range<Int>) -> Void
    }

    /// How many chunks `forChunks` splits `count` items into.
    public static func chunks(_ count: Int, costPerItem: Int = 1) -> Int {
        let workers = min(threads, count)
        return workers <= 1 || count * costPerItem < 1 << 15 ? 1 : workers
    }
}
