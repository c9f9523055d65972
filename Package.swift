// swift-tools-version: 6.0
import PackageDescription
import Foundation

// Release builds use -O everywhere: bounds and overflow checks stay on, so bad input traps with a
// message instead of corrupting memory (the hot loops are C kernels; docs/benchmarks.md has the
// measurement that -Ounchecked bought nothing measurable on the supernet step).
let optimize: [SwiftSetting] = []

let package = Package(
    name: "nsas",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nsas-bench", targets: ["nsas-bench"]),
        .executable(name: "nsas-train", targets: ["nsas-train"]),
        .executable(name: "nsas-ckpt", targets: ["nsas-ckpt"]),
        .executable(name: "nsas-replay", targets: ["nsas-replay"]),
        .executable(name: "nsas-tau", targets: ["nsas-tau"]),
        .executable(name: "nsas-rank", targets: ["nsas-rank"]),
        .executable(name: "nsas-draw", targets: ["nsas-draw"]),
        .executable(name: "nsas-study", targets: ["nsas-study"]),
        .library(name: "NSASTensor", targets: ["NSASTensor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        // libpng reports errors by longjmp, which Swift cannot cross: this shim catches them.
        .target(name: "CPNGShim", dependencies: ["CPNG"]),

        // Hot loops of the fast backend in C, compiled for AVX-512, AVX2 and baseline x86-64 at once.
        .target(name: "NSASKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fno-builtin"])]),
        .target(name: "NSASBackends", dependencies: ["CBLAS", "NSASKernels"], swiftSettings: optimize),
        .target(name: "NSASTensor", dependencies: ["NSASBackends"], swiftSettings: optimize),
        .target(name: "NSASSearchSpace", dependencies: ["NSASTensor", "NSASData", "NSASCheckpoint"], swiftSettings: optimize),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "NSASData", dependencies: ["NSASTensor", "CZlib"], swiftSettings: optimize),
        .target(name: "NSASRun", dependencies: ["NSASSearchSpace", "NSASCheckpoint", "NSASTensor", "NSASAnalysis"]),
        .target(name: "NSASTrain", dependencies: ["NSASRun", "NSASSearchSpace", "NSASData", "NSASTensor", "NSASCheckpoint", "NSASAnalysis"], swiftSettings: optimize),
        .target(name: "NSASCheckpoint", dependencies: ["NSASIO", "CZlib"]),
        .target(name: "NSASIO", dependencies: ["CZstd", "CPNGShim"]),
        .target(name: "NSASCLI", dependencies: ["NSASBackends", "NSASRun", "NSASSearchSpace", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "nsas-train", dependencies: ["NSASCLI", "NSASTrain", "NSASRun", "NSASData", "NSASSearchSpace", "NSASTensor",
                                                             "NSASCheckpoint", "NSASBackends",
                                                             .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimize),
        .executableTarget(name: "nsas-ckpt", dependencies: ["NSASCLI", "NSASCheckpoint", "NSASSearchSpace", "NSASRun", "NSASTrain", "NSASAnalysis",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "nsas-replay", dependencies: ["NSASCLI", "NSASTrain", "NSASTensor", "NSASBackends",
                                                              .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimize),
        .target(name: "NSASAnalysis"),
        .executableTarget(name: "nsas-rank", dependencies: ["NSASCLI", "NSASRun", "NSASAnalysis", "NSASCheckpoint", "NSASSearchSpace",
                                                            "NSASTensor", "NSASBackends", "NSASData",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimize),
        .executableTarget(name: "nsas-tau", dependencies: ["NSASCLI", "NSASAnalysis",
                                                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Optimised in debug builds too: the layout search is slow unoptimised and the tests draw many cells.
        .target(name: "NSASDraw", dependencies: ["CCairo", "NSASIO", "NSASSearchSpace", "NSASAnalysis"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        .executableTarget(name: "nsas-draw", dependencies: ["NSASCLI", "NSASDraw", "NSASRun", "NSASSearchSpace", "NSASAnalysis", "NSASTrain", "NSASCheckpoint",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "NSASStudy", dependencies: ["NSASRun", "NSASAnalysis", "NSASDraw", "NSASCheckpoint", "NSASSearchSpace",
                                                 .product(name: "TOMLKit", package: "TOMLKit")]),
        .executableTarget(name: "nsas-study", dependencies: ["NSASCLI", "NSASStudy",
                                                             .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "NSASBench", dependencies: ["NSASBackends", "NSASSearchSpace", "NSASTensor", "NSASRun", "NSASTrain", "CBLAS"], swiftSettings: optimize),
        .executableTarget(name: "nsas-bench", dependencies: [
            "NSASBackends", "NSASBench", "NSASCLI", "NSASRun", "NSASSearchSpace", "NSASTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),

        .target(name: "NSASTestSupport", dependencies: ["NSASTensor"], path: "Tests/NSASTestSupport"),
        .testTarget(name: "NSASBackendsTests", dependencies: ["NSASBackends", "NSASKernels", "NSASTestSupport"]),
        .testTarget(name: "NSASTensorTests", dependencies: ["NSASTensor", "NSASTestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "NSASIOTests", dependencies: ["NSASIO"]),
        .testTarget(name: "NSASAnalysisTests", dependencies: ["NSASAnalysis"]),
        .testTarget(name: "NSASCheckpointTests", dependencies: ["NSASCheckpoint", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "NSASTrainTests", dependencies: ["NSASTrain", "NSASCheckpoint", "NSASTestSupport"]),
        .testTarget(name: "NSASDataTests", dependencies: ["NSASData", "NSASTestSupport"]),
        .testTarget(name: "NSASSearchSpaceTests", dependencies: ["NSASSearchSpace", "NSASTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "NSASDrawTests", dependencies: ["NSASDraw", "NSASIO", "NSASSearchSpace", "NSASAnalysis", "NSASTensor"]),
        .testTarget(name: "NSASBenchTests", dependencies: ["NSASBench", "NSASRun", "NSASSearchSpace"]),
        .testTarget(name: "NSASStudyTests", dependencies: ["NSASStudy", "NSASAnalysis", "NSASCheckpoint"]),
    ],
    swiftLanguageModes: [.v5]
)

// Fuzzing (Tools/fuzz): a libFuzzer executable over the readers of untrusted input, present only
// when NSAS_FUZZ=1 (Tools/fuzz builds it in its own .build-fuzz folder, every module with coverage
// instrumentation and AddressSanitizer, and links libFuzzer's no-main runtime).
if ProcessInfo.processInfo.environment["NSAS_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "nsas-fuzz", dependencies: ["NSASAnalysis", "NSASCheckpoint", "NSASData", "NSASRun", "NSASSearchSpace"],
        path: "Fuzz/Sources",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])],
        linkerSettings: [.linkedLibrary("stdc++")]))
    package.products.append(.executable(name: "nsas-fuzz", targets: ["nsas-fuzz"]))
}
