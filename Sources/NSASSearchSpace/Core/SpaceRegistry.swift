/// Every search space, by the `SpaceID` written into checkpoints. Adding a space is one line here.
public enum SpaceRegistry {
    public static let all: [any SearchSpace.Type] = [
        DARTSCNNSpace.self,
        DARTSRNNSpace.self,
        NB201Space.self,
    ]

    static func id<S: SearchSpace>(of type: S.Type) -> SpaceID { S.id }

    public static var names: [String] { all.map { id(of: $0).rawValue } }

    /// Short names accepted on the command line (`cnn` for `darts-cnn`).
    public static func type(named name: String) throws -> any SearchSpace.Type {
        for t in all {
            let i = id(of: t).rawValue
            if i == name || i == "darts-" + name { return t }
        }
        throw SearchSpaceError.option("unknown search space '\(name)'; the spaces are \(names.joined(separator: ", ")) (or cnn, rnn)")
    }

    public static func type(_ id: SpaceID) throws -> any SearchSpace.Type { try type(named: id.rawValue) }
}
