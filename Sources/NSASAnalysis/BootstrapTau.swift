import Foundation

extension RankCorrelation {
    /// Tau-b of `count` bootstrap resamples of the pairs, each drawn from its own seeded generator
    /// (SplitMix64 of seed and resample index), so the result does not depend on the thread count;
    /// resamples run in parallel.
    ///
    /// A resample is a multiset of the pairs, and tau-b depends on nothing else; so the pairs are
    /// sorted by (a, b) once, and a resample is a count of copies per pair: walking the sorted
    /// pairs with their counts gives the resample's (a, b) order without sorting it, ties come from
    /// the counts, and the discordant pairs from one pass with a Fenwick tree over b, weighted by
    /// the counts. The same multisets as drawing and sorting each resample, so the same taus.
    static func bootstrapTaus(_ a: [Double], _ b: [Double], count: Int, seed: UInt64) -> [Double] {
        let n = a.count
        guard n >= 2, count > 0 else { return [] }
        let (ra, ka) = denseRanks(a), (rb, kb) = denseRanks(b)
        let sorted = (0..<n).sorted { (ra[$0], rb[$0]) < (ra[$1], rb[$1]) }
        var position = [Int32](repeating: 0, count: n)
        for (p, i) in sorted.enumerated() { position[i] = Int32(p) }
        let sa = sorted.map { ra[$0] }, sb = sorted.map { rb[$0] }
        // Where a run of equal (a, b) pairs starts in the sorted order (joint ties).
        var runStart = [Bool](repeating: true, count: n)
        for p in 1..<n where sa[p] == sa[p - 1] && sb[p] == sb[p - 1] { runStart[p] = false }
        var out = [Double](repeating: .nan, count: count)
        let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount))
        out.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let w = Resample(n: n, ka: ka, kb: kb)
                defer { w.free() }
                for r in (count * c / chunks)..<(count * (c + 1) / chunks) {
                    base[r] = w.tau(seed: seed, resample: r, position: position, sa: sa, sb: sb, runStart: runStart)
                }
            }
        }
        return out
    }

    /// One worker's buffers (unchecked: the inner loops of the bootstrap, indices in range by construction).
    struct Resample {
        let n: Int
        let copies: UnsafeMutableBufferPointer<Int32>, countA: UnsafeMutableBufferPointer<Int32>
        let countB: UnsafeMutableBufferPointer<Int32>, tree: UnsafeMutableBufferPointer<Int32>

        init(n: Int, ka: Int, kb: Int) {
            self.n = n
            copies = .allocate(capacity: n); countA = .allocate(capacity: ka)
            countB = .allocate(capacity: kb); tree = .allocate(capacity: kb + 1)
        }

        func free() { copies.deallocate(); countA.deallocate(); countB.deallocate(); tree.deallocate() }

        /// Tau-b of resample `resample`: draws its copies, then one pass over the sorted pairs.
        func tau(seed: UInt64, resample r: Int, position: [Int32], sa: [Int32], sb: [Int32], runStart: [Bool]) -> Double {
            let m = copies.baseAddress!, ca = countA.baseAddress!, cb = countB.baseAddress!, t = tree.baseAddress!
            let kb = countB.count
            copies.update(repeating: 0); countA.update(repeating: 0); countB.update(repeating: 0); tree.update(repeating: 0)
            position.withUnsafeBufferPointer { pos in
                var state = seed ^ (UInt64(r) &* 0xD1B5_4A32_D192_ED03) &+ 0x9E37_79B9_7F4A_7C15
                for _ in 0..<n {
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    m[Int(pos[Int((z ^ (z >> 31)) % UInt64(n))])] += 1
                }
            }
            var n3 = 0.0, run = 0.0, swaps = 0.0, total = 0
            sa.withUnsafeBufferPointer { sa in sb.withUnsafeBufferPointer { sb in runStart.withUnsafeBufferPointer { starts in
                for p in 0..<n {
                    if starts[p] { n3 += run * (run - 1) / 2; run = 0 }
                    let k = Int(m[p])
                    guard k > 0 else { continue }
                    run += Double(k)
                    ca[Int(sa[p])] += Int32(k); cb[Int(sb[p])] += Int32(k)
                    // Earlier pairs with a strictly larger b, for each of the k copies.
                    let v = Int(sb[p]) + 1
                    var atMost = 0, x = v
                    while x > 0 { atMost += Int(t[x]); x -= x & -x }
                    swaps += Double(k) * Double(total - atMost)
                    x = v
                    while x <= kb { t[x] += Int32(k); x += x & -x }
                    total += k
                }
            }}}
            n3 += run * (run - 1) / 2
            var n1 = 0.0, n2 = 0.0
            for v in countA where v > 1 { n1 += Double(v) * Double(v - 1) / 2 }
            for v in countB where v > 1 { n2 += Double(v) * Double(v - 1) / 2 }
            let n0 = Double(n) * Double(n - 1) / 2
            let denom = ((n0 - n1) * (n0 - n2)).squareRoot()
            return denom > 0 ? (n0 - n1 - n2 + n3 - 2 * swaps) / denom : .nan
        }
    }
}
