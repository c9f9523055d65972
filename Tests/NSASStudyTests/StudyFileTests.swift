import Foundation
import Testing
@testable import NSASStudy

@Suite struct StudyFileTests {
    static let minimal = """
        name = "t"
        seeds = [0, 1]
        epochs = 2
        [truth]
        sample = 4
        epochs = 1
        seeds = [0]
        [[arms]]
        name = "randomnas"
        method = "randomnas"
        [[arms]]
        name = "nsas"
        method = "nsas"
        """

    @Test func minimalFileTakesDefaults() throws {
        let s = try StudyFile.parse(Self.minimal, path: "t.toml")
        #expect(s.space == "cnn" && s.data == "default" && s.threads == 1 && s.track == 4)
        #expect(s.baseline == "randomnas" && s.focus == "nsas" && s.computeMatched == nil)
        #expect(s.rank.bnRecalibrate == [0] && s.out == "runs/study-t")
        #expect(s.arms.map(\.label) == ["randomnas", "nsas"])
    }

    @Test(arguments: [
        ("epochs = 2", "epochs = 0", "t.toml epochs must be between 1 and 100000, not 0"),
        ("seeds = [0, 1]", "seeds = [0, 0]", "t.toml seeds repeats a seed"),
        ("epochs = 2", "epochs = 2\nepoch = 3", "t.toml has an unknown key \"epoch\""),
        ("method = \"nsas\"", "method = \"darts\"", "t.toml: arms[1] (nsas) method must be one of"),
        ("sample = 4", "sample = 4\nlist = \"a.txt\"", "t.toml: [truth] needs one of sample = N or list = \"FILE\""),
        ("epochs = 2", "epochs = 2\ntrain_args = [\"--seed\", \"3\"]", "t.toml: train_args may not hold --seed: the study sets it"),
        ("epochs = 2", "epochs = 2\nbaseline = \"wpl\"", "t.toml: baseline = \"wpl\" names no arm"),
        ("seeds = [0, 1]", "seeds = [0, 1", "t.toml:"),
        ("epochs = 2", "epochs = \"two\"", "t.toml epochs must be an integer"),
    ])
    func badFilesGetOneLine(_ replace: (String, String, String)) throws {
        let text = Self.minimal.replacingOccurrences(of: replace.0, with: replace.1)
        do {
            _ = try StudyFile.parse(text, path: "t.toml")
            Issue.record("accepted: \(replace.1)")
        } catch let e as StudyError {
            #expect(e.description.hasPrefix(replace.2), "\(e.description)")
            #expect(!e.description.contains("\n"))
        }
    }
}
