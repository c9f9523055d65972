import Foundation

/// Wall-clock timing with medians: these machines are noisy, so every figure is a median.
public enum Timing {
    @inline(__always) public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Median seconds of `body` over at least `minReps` runs, continuing up to `maxReps` while the
    /// total stays under `budget` seconds. First a warm-up: runs for a tenth of the budget (at
    /// least one), so that sleeping worker threads and clock ramps are not in the figure (a
    /// kernel of a third of a millisecond measured 30 times otherwise catches them).
    public static func median(minReps: Int = 5, maxReps: Int = 30, budget: Double = 0.5, _ body: () -> Void) -> Double {
        let warm = now()
        repeat { body() } while now() - warm < budget / 10
        var times: [Double] = []
        let start = now()
        while times.count < minReps || (times.count < maxReps && now() - start < budget) {
            let t0 = now(); body(); times.append(now() - t0)
        }
        return medianOf(times)
    }

    public static func medianOf(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty, "median of nothing")
        let s = xs.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}
