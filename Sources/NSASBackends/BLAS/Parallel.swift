import Foundation

/// Splits work over the machine's cores. Small jobs run on the calling thread.
public enum Parallel {
    public static let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls body with disjoint ranges covering 0..<count, one per worker, in parallel when
    /// `count * costPerItem` is worth a thread hand-off (about 32k cheap operations).
    @inline(__always)
    public static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 || count * costPerItem < 1 << 15 {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { t in
            let lo = count * t / workers, hi = count * (t + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }
}
