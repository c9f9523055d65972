import Foundation
import NSASAnalysis
@testable import NSASDraw
import NSASIO
import Testing

@Suite struct PlotsTests {
    func write(_ dir: String, _ name: String, _ text: String) -> String {
        let p = dir + "/" + name
        #expect(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)))
        return p
    }

    @Test func tauPerEpoch() throws {
        let d = tempDir("tau")
        let a = write(d, "a.csv", "epoch,n,kendall_tau_b\n2,12,0.3\n1,12,0.1\n3,12,0.25\n")
        let b = write(d, "b.csv", "epoch,n,kendall_tau_b\n1,12,0.2\n2,12,0.45\n3,12,0.5\n")
        let chart = try Plots.tau([("RandomNAS", a), ("RandomNAS-NSAS", b)])
        #expect(chart.series.map(\.name) == ["RandomNAS", "RandomNAS-NSAS"])
        #expect(chart.series[0].points.map(\.x) == [1, 2, 3] && chart.series[0].points.map(\.y) == [0.1, 0.3, 0.25])
        try Figure([chart]).write(to: d + "/tau.png")
        #expect(nonWhite(try PNG.read(d + "/tau.png")) > 1000)
        let bad = write(d, "bad.csv", "epoch,tau\n1,0.2\n")
        do { _ = try Plots.tau([("x", bad)]); Issue.record("no error") } catch { #expect("\(error)".contains("bad.csv") && "\(error)".contains("kendall_tau_b")) }
        let nan = write(d, "nan.csv", "epoch,kendall_tau_b\n1,abc\n")
        do { _ = try Plots.tau([("x", nan)]); Issue.record("no error") } catch { #expect("\(error)".contains("nan.csv") && "\(error)".contains("abc")) }
    }

    @Test func forgettingWithTruth() throws {
        let d = tempDir("forget")
        let ranks = write(d, "ranks.csv", "arch,accuracy,loss,rank,epoch\nA,0.5,1,1,1\nB,0.4,1,2,1\nA,0.6,1,1,2\nB,0.55,1,2,2\nC,0.2,1,3,1\n")
        let truth = write(d, "truth.csv", "arch,accuracy\nA,0.8\nB,0.9\n")
        let chart = try Plots.forgetting(ranks: ranks, truth: truth)
        // Best stand-alone first; C has no truth and is left out; each arch also has a dashed level.
        #expect(chart.series.filter { !$0.hideInLegend }.map(\.name) == ["arch 1 (stand-alone 0.900)", "arch 2 (stand-alone 0.800)"])
        #expect(chart.series.filter(\.dashed).map { $0.points.map(\.y) } == [[0.9, 0.9], [0.8, 0.8]])
        #expect(chart.series[0].points == [Point(1, 0.4), Point(2, 0.55)])
        try Figure([chart]).write(to: d + "/f.png")
        let none = write(d, "t2.csv", "arch,accuracy\nZ,0.8\n")
        #expect(throws: DrawError.self) { try Plots.forgetting(ranks: ranks, truth: none) }
    }

    @Test func forgettingFromTrackedMetrics() throws {
        let d = tempDir("tracked")
        _ = write(d, "metrics.jsonl", """
        {"event":"start","method":"randomnas"}
        {"event":"epoch","epoch":1,"train_loss":2.0,"train_accuracy":0.2,"tracked":[{"arch":"A","accuracy":0.3,"loss":1.5}]}
        {"event":"epoch","epoch":2,"train_loss":1.5,"train_accuracy":0.4,"tracked":[{"arch":"A","accuracy":0.5,"loss":1.2}]}

        """)
        let chart = try Plots.forgetting(run: d)
        #expect(chart.series.count == 1 && chart.series[0].points == [Point(1, 0.3), Point(2, 0.5)])
        let fig = try Plots.metrics(run: d)
        #expect(fig.charts.count == 2 && fig.charts[0].series[0].points == [Point(1, 2.0), Point(2, 1.5)])
        try fig.write(to: d + "/m.png")
        let mw = try fig.width()
        #expect(try PNG.read(d + "/m.png").width == Int(mw.rounded(.up)) && mw >= 1240)
        // An RNN run's metrics: perplexity instead of accuracy.
        let rnn = tempDir("rnn-metrics")
        _ = write(rnn, "metrics.jsonl", """
        {"event":"epoch","epoch":1,"train_loss":6.0,"train_perplexity":403.4,"valid_perplexity":450.0}
        {"event":"epoch","epoch":2,"train_loss":5.5,"train_perplexity":244.7}

        """)
        let rf = try Plots.metrics(run: rnn)
        #expect(rf.charts[1].title.hasSuffix("perplexity") && rf.charts[1].series.map(\.name) == ["train", "validation"])
        #expect(rf.charts[1].series[0].points == [Point(1, 403.4), Point(2, 244.7)])
        let empty = tempDir("empty")
        _ = write(empty, "metrics.jsonl", "{\"event\":\"start\"}\n")
        #expect(throws: DrawError.self) { try Plots.metrics(run: empty) }
        #expect(throws: DrawError.self) { try Plots.forgetting(run: d + "/missing") }
    }

    @Test func scatterHasTauInTitle() throws {
        let d = tempDir("scatter")
        let a = write(d, "a.csv", "arch,accuracy\nA,0.5\nB,0.6\nC,0.55\nD,0.1\n")
        let b = write(d, "b.csv", "arch,accuracy\nA,0.8\nB,0.9\nC,0.7\nE,0.1\n")
        let chart = try Plots.scatter(supernet: a, truth: b)
        let tau = RankCorrelation.kendallTauB([0.5, 0.6, 0.55], [0.8, 0.9, 0.7]).tau
        #expect(chart.title.contains(String(format: "%.3f", tau)) && chart.title.contains("n = 3"))
        #expect(chart.series[0].points.count == 3)
        try Figure([chart]).write(to: d + "/s.png")
        // A per-epoch file: the last epoch by default, or the one asked for.
        let pe = write(d, "pe.csv", "arch,accuracy,epoch\nA,0.1,1\nB,0.2,1\nC,0.3,1\nA,0.5,2\nB,0.6,2\nC,0.55,2\n")
        #expect(try Plots.scatter(supernet: pe, truth: b).title.contains("epoch 2") && Plots.scatter(supernet: pe, truth: b).series[0].points.map(\.y) == [0.5, 0.6, 0.55])
        #expect(try Plots.scatter(supernet: pe, truth: b, epoch: "1").series[0].points.map(\.y) == [0.1, 0.2, 0.3])
        #expect(throws: DrawError.self) { try Plots.scatter(supernet: pe, truth: b, epoch: "9") }
        let one = write(d, "one.csv", "arch,accuracy\nA,0.5\n")
        #expect(throws: (any Error).self) { try Plots.scatter(supernet: one, truth: b) }
    }
}
