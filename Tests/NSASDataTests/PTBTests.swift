import Foundation
import NSASData
import Testing

/// The PTB reader on small texts the test writes (the real PTB is not in the repository).
@Suite struct PTBTests {
    func folder(_ name: String, train: String, valid: String, test: String) throws -> String {
        let d = NSTemporaryDirectory() + "nsas-ptb-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: d)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        for (f, t) in zip(Corpus.fileNames, [train, valid, test]) { try Data(t.utf8).write(to: URL(fileURLWithPath: d + "/" + f)) }
        return d
    }

    @Test func readsWordsWithEndOfSentence() throws {
        let d = try folder("ok", train: " the cat sat \n the <unk> ran \n", valid: " the dog sat \n", test: " cat ran \n\n")
        let c = try Corpus.load(d)
        // Vocabulary in order of first appearance in the training file, <eos> after each line.
        #expect(c.words == ["the", "cat", "sat", "<eos>", "<unk>", "ran"])
        #expect(c.train == [0, 1, 2, 3, 0, 4, 5, 3])
        // "dog" is not in the vocabulary: it maps to <unk>, as PTB's own preprocessing does.
        #expect(c.valid == [0, 4, 2, 3])
        #expect(c.test == [1, 5, 3])
        #expect(c.vocabularySize == 6)
    }

    @Test func errorsNameFileAndLine() throws {
        let d = try folder("unk", train: "a b\n", valid: "a\nb c\n", test: "a\n")
        do { _ = try Corpus.load(d); Issue.record("no error") } catch {
            #expect("\(error)".contains("ptb.valid.txt") && "\(error)".contains("line 2") && "\(error)".contains("'c'"))
        }
        let e = try folder("empty", train: "\n \n", valid: "a\n", test: "a\n")
        do { _ = try Corpus.load(e); Issue.record("no error") } catch { #expect("\(error)".contains("empty vocabulary")) }
        let m = NSTemporaryDirectory() + "nsas-ptb-missing-\(getpid())"
        do { _ = try Corpus.load(m); Issue.record("no error") } catch {
            #expect("\(error)".contains("ptb.train.txt") && "\(error)".contains("Tools/get-ptb"))
        }
    }

    @Test func batchifyMakesContiguousColumns() {
        let (rows, data) = Corpus.batchify(Array(0..<11).map(Int32.init), batch: 2)
        // Two columns of 5 tokens (the 11th dropped): column b holds tokens b*5 ..< b*5+5.
        #expect(rows == 5)
        #expect(data == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9])
    }
}
