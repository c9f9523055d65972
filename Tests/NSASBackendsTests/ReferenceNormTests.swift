import NSASBackends
import NSASTestSupport
import Testing

@Suite struct ReferenceNormTests {
    let r = ReferenceBackend.shared

    @Test func momentsByHand() {
        // n=2, c=2, s=2: channel 0 holds 1,2,5,6; channel 1 holds 3,4,7,8.
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        var mean = [Float](repeating: 0, count: 2), v = mean
        r.channelMoments(n: 2, c: 2, s: 2, mean: &mean, variance: &v, x: x)
        assertClose(mean, [3.5, 5.5])
        assertClose(v, [4.25, 4.25])
        var y = [Float](repeating: 0, count: 8)
        r.channelAffine(n: 2, c: 2, s: 2, y: &y, x: x, scale: [2, 1], shift: [0, 10], mean: mean)
        assertClose(y, [-5, -3, 7.5, 8.5, 3, 5, 11.5, 12.5])
    }

    @Test func backwardOfAConstantGradientIsZero() {
        // A constant dy shifts every output equally, which normalisation removes: dx = 0, dbeta = sum.
        let x = randomArray(24, seed: 5)
        var mean = [Float](repeating: 0, count: 3), v = mean
        r.channelMoments(n: 2, c: 3, s: 4, mean: &mean, variance: &v, x: x)
        let inv = v.map { 1 / ($0 + 1e-5).squareRoot() }
        var dx = [Float](repeating: 0, count: 24), dg = [Float](repeating: 0, count: 3), db = dg
        r.batchNormBackward(n: 2, c: 3, s: 4, dx: &dx, dgamma: &dg, dbeta: &db, dy: [Float](repeating: 1, count: 24),
                            x: x, mean: mean, invStd: inv, gamma: [2, 2, 2])
        assertClose(dx, [Float](repeating: 0, count: 24), atol: 1e-5)
        assertClose(db, [8, 8, 8])
        assertClose(dg, [0, 0, 0], atol: 1e-4)
    }
}
