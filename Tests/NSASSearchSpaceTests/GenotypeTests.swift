import NSASSearchSpace
import Testing

@Suite struct GenotypeTests {
    static let dartsV2Text = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"

    @Test func dartsV2RoundTripsExactly() throws {
        let g = try Genotype(parsing: Self.dartsV2Text)
        #expect(g.description == Self.dartsV2Text)
        #expect(g == NamedGenotypes.dartsV2)
        #expect(g.normal[7] == Edge(.dilConv3x3, 2))
        #expect(try Genotype(parsing: g.canonical) == g)
        #expect(try Genotype(parsing: "DARTS_V2") == g)
    }

    @Test func rangeAndDoubleQuotesAndNone() throws {
        let text = Self.dartsV2Text.replacingOccurrences(of: "normal_concat=[2, 3, 4, 5]", with: "normal_concat=range(2, 6)")
            .replacingOccurrences(of: "'", with: "\"")
        #expect(try Genotype(parsing: text) == NamedGenotypes.dartsV2)
        let nsas = NamedGenotypes.nsas
        #expect(nsas.normal[7] == Edge(.none, 1) && nsas.reduce[1] == Edge(.none, 1))
        #expect(try Genotype(parsing: nsas.description) == nsas)
        #expect(try Genotype(parsing: nsas.canonical) == nsas)
    }

    @Test func everyListedArchitectureRoundTrips() throws {
        for g in [NamedGenotypes.dartsV1, NamedGenotypes.dartsV2, NamedGenotypes.nsas] {
            #expect(try Genotype(parsing: g.description) == g)
            #expect(!g.canonical.contains(","))
        }
        let custom = try Genotype(normal: NamedGenotypes.dartsV2.normal, normalConcat: [3, 5],
                                  reduce: NamedGenotypes.dartsV2.reduce, reduceConcat: [2, 3, 4, 5])
        #expect(try Genotype(parsing: custom.canonical) == custom)
        #expect(try Genotype(parsing: custom.description) == custom)
    }

    @Test func errorsPointAtTheToken() {
        func error(_ text: String) -> GenotypeError? {
            do { _ = try Genotype(parsing: text); return nil } catch { return error as? GenotypeError }
        }
        let badOp = error(Self.dartsV2Text.replacingOccurrences(of: "'dil_conv_3x3'", with: "'dil_conv_7x7'"))
        #expect(badOp?.token == "dil_conv_7x7")
        #expect(badOp?.column == (Self.dartsV2Text.range(of: "('dil_conv_3x3'").map { Self.dartsV2Text.distance(from: Self.dartsV2Text.startIndex, to: $0.lowerBound) + 1 }))
        #expect(badOp?.description.contains("sep_conv_3x3") == true)   // lists the valid ops
        let badInput = error(Self.dartsV2Text.replacingOccurrences(of: "('dil_conv_3x3', 2)", with: "('dil_conv_3x3', 6)"))
        #expect(badInput?.message.contains("reads state 6") == true)
        #expect(error("Genotype(normal=[('sep_conv_3x3', 0)")?.token == "end of text")
        #expect(error("Genotype(normal=[('sep_conv_3x3' 0)])")?.token == "0")
        #expect(error("Genotype(norma=[])")?.token == "norma")
        #expect(error("sep_conv_3x3~0|bogus~1||max_pool_3x3~0|max_pool_3x3~1")?.token == "bogus")
        #expect(error("hello") != nil)
        #expect(error(Self.dartsV2Text + " trailing")?.token == "trailing")
        #expect(error(Self.dartsV2Text.replacingOccurrences(of: "normal_concat=[2, 3, 4, 5]", with: "normal_concat=[2, 9]")) != nil)
    }
}
