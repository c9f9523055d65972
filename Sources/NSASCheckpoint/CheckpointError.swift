/// A checkpoint problem: the file, the section, what is wrong and what to do.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var section: String?
    public var problem: String
    public var advice: String

    public init(_ path: String, section: String? = nil, _ problem: String, advice: String = "") {
        self.path = path; self.section = section; self.problem = problem; self.advice = advice
    }

    public var description: String {
        var s = path
        if let section { s += ", section '\(section)'" }
        s += ": " + problem
        if !advice.isEmpty { s += "; " + advice }
        return s
    }
}
