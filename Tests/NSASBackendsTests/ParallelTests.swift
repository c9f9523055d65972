import Foundation
import NSASBackends
import NSASKernels
import Testing

@Suite struct ParallelTests {
    @Test(arguments: [0, 1, 2, 3, 1000, 100_001])
    func rangesCoverEachIndexOnce(_ count: Int) {
        let seen = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        seen.update(repeating: 0, count: max(count, 1))
        defer { seen.deallocate() }
        Parallel.forRanges(count) { r in for i in r { seen[i] += 1 } }
        #expect((0..<count).allSatisfy { seen[$0] == 1 })
    }

    /// One item at a time: every item once, with parallel loops inside an item run whole on its thread.
    @Test(arguments: [0, 1, 2, 7, 64])
    func forEachRunsEachItemOnce(_ count: Int) {
        let seen = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1) * 1000)
        seen.update(repeating: 0, count: max(count, 1) * 1000)
        defer { seen.deallocate() }
        Parallel.forEach(count) { item in
            Parallel.forRanges(1000, costPerItem: 1 << 10) { r in for i in r { seen[item * 1000 + i] += 1 } }
        }
        #expect((0..<count * 1000).allSatisfy { seen[$0] == 1 })
    }

    /// Thousands of jobs back to back: each chunk of each job runs exactly once (no chunk of one
    /// job is taken for the next), whichever thread runs it.
    @Test func jobsBackToBackRunEachChunkOnce() {
        let count = 100_000, jobs = 3000
        let seen = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        seen.update(repeating: 0, count: count)
        defer { seen.deallocate() }
        for _ in 0..<jobs { Parallel.forRanges(count) { r in for i in r { seen[i] += 1 } } }
        #expect((0..<count).allSatisfy { seen[$0] == Int32(jobs) })
    }

    /// A parallel loop inside a chunk, and loops started from several threads at once: the pool
    /// runs one job at a time and the others run on their callers; every index once.
    @Test func nestedAndConcurrentCallsAreSerialisedNotLost() {
        let count = 50_000, callers = 6
        let seen = UnsafeMutablePointer<Int32>.allocate(capacity: count * callers)
        seen.update(repeating: 0, count: count * callers)
        defer { seen.deallocate() }
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            let mine = seen + c * count
            for _ in 0..<50 {
                Parallel.forRanges(count / 100) { outer in
                    for o in outer {
                        Parallel.forRanges(100) { inner in for i in inner { mine[o * 100 + i] += 1 } }
                    }
                }
            }
        }
        #expect((0..<(count * callers)).allSatisfy { seen[$0] == 50 })
    }

    /// The pool itself with more chunks than threads and more threads than cores.
    @Test(arguments: [(4, 37), (2, 2), (3, 1), (8, 1000)])
    func poolRunsEveryChunkOnce(_ threads: Int, _ chunks: Int) {
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: chunks)
        hits.update(repeating: 0, count: chunks)
        defer { hits.deallocate() }
        nsas_pool_run(Int32(threads), Int32(chunks), { ctx, chunk in
            ctx!.assumingMemoryBound(to: Int32.self)[Int(chunk)] += 1
        }, hits)
        #expect((0..<chunks).allSatisfy { hits[$0] == 1 })
    }
}
