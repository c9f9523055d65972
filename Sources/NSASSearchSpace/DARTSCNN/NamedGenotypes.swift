/// Published genotypes, by name.
public enum NamedGenotypes {
    /// DARTS first order (Liu et al. 2019, genotypes.py).
    public static let dartsV1 = try! Genotype(parsing: "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
    /// DARTS second order (Liu et al. 2019, genotypes.py).
    public static let dartsV2 = try! Genotype(parsing: "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    /// The best RandomNAS-NSAS cell of the NSAS paper (Figure 5); note its `none` edges.
    public static let nsas = try! Genotype(parsing: "Genotype(normal=[('sep_conv_5x5', 1), ('dil_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('avg_pool_3x3', 0), ('skip_connect', 0), ('none', 1)], normal_concat=[2, 3, 4, 5], reduce=[('dil_conv_3x3', 0), ('none', 1), ('dil_conv_3x3', 0), ('avg_pool_3x3', 1), ('dil_conv_5x5', 2), ('dil_conv_5x5', 3), ('none', 0), ('sep_conv_3x3', 3)], reduce_concat=[2, 3, 4, 5])")

    public static let byName: [String: Genotype] = ["DARTS_V1": dartsV1, "DARTS_V2": dartsV2, "DARTS": dartsV2, "NSAS": nsas]
}
