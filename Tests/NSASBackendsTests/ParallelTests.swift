import Foundation
import NSASBackends
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
}
