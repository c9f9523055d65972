/// The op registry of the CNN cells (what each op name builds). The DARTS CNN space's own list
/// of primitives, in DARTS order, is `DARTSCNNSpace.ops` (docs/method.md).
public enum Primitive: String, CaseIterable, Codable, Sendable {
    case none = "none"
    case maxPool3x3 = "max_pool_3x3"
    case avgPool3x3 = "avg_pool_3x3"
    case skipConnect = "skip_connect"
    case sepConv3x3 = "sep_conv_3x3"
    case sepConv5x5 = "sep_conv_5x5"
    case dilConv3x3 = "dil_conv_3x3"
    case dilConv5x5 = "dil_conv_5x5"

    /// The op's name as DARTS writes it.
    public var name: String { rawValue }

    /// Parameter-free ops (pools, skip at stride 1, none).
    public var isParameterFree: Bool { self == .none || self == .maxPool3x3 || self == .avgPool3x3 }

    /// Names in DARTS order, for error messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
