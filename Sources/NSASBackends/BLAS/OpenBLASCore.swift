import CBLAS
import Foundation

/// Chooses OpenBLAS's kernels on CPUs that the library misdetects.
///
/// OpenBLAS (Debian's `DYNAMIC_ARCH` build) picks a kernel set once, when it is loaded. Version
/// 0.3.21 does not know some newer CPUs and falls back to its slowest kernels (`Prescott`),
/// several times slower than the AVX-512 ones the CPU supports. Before the first BLAS call,
/// `ensureFastKernels()` compares the core the library picked with what the CPU's features allow
/// (`/proc/cpuinfo` flags, which the kernel clears when the OS does not save the registers) and,
/// when the library's choice is of a lower tier, sets `OPENBLAS_CORETYPE` and lets the library
/// pick again (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, exported by dynamic builds).
/// The library itself re-checks that the CPU supports the forced core. A core that is detected
/// correctly is kept, and so is a user's own `OPENBLAS_CORETYPE`.
///
/// `NSAS_OPENBLAS_CORE` overrides: `auto` (default, as above), `keep` (never change),
/// `upgrade` (upgrade even when `OPENBLAS_CORETYPE` is set), or a core name to force.
public enum OpenBLASCore {
    /// What happened at start-up: the library's own choice and the core in use.
    public struct Status: Sendable, Equatable {
        public var detected: String
        public var inUse: String
        public var cpuTier: Int
        public var note: String
        public var changed: Bool { detected != inUse }
        /// One line for start-up output.
        public var summary: String {
            changed ? "OpenBLAS core \(inUse) (library picked \(detected); \(note))"
                    : "OpenBLAS core \(inUse) (\(note))"
        }
    }

    /// Kernel tiers by instruction set: 0 = SSE-era generic, 1 = AVX, 2 = AVX2+FMA, 3 = AVX-512.
    static let coreTiers: [String: Int] = [
        "katmai": 0, "coppermine": 0, "northwood": 0, "banias": 0, "athlon": 0, "prescott": 0,
        "core2": 0, "penryn": 0, "dunnington": 0, "nehalem": 0, "atom": 0, "nano": 0,
        "opteron": 0, "opteron_sse3": 0, "barcelona": 0, "bobcat": 0,
        "sandybridge": 1, "bulldozer": 1, "piledriver": 1, "steamroller": 1, "excavator": 1,
        "haswell": 2, "zen": 2,
        "skylakex": 3, "cooperlake": 3, "sapphirerapids": 3,
    ]
    static let tierCore = [1: "Sandybridge", 2: "Haswell", 3: "SkylakeX"]

    /// The tier of a core name as OpenBLAS prints it; nil when unknown.
    public static func tier(ofCore name: String) -> Int? { coreTiers[name.lowercased()] }

    /// The best tier the CPU flags (from /proc/cpuinfo) allow.
    public static func tier(ofCPUFlags flags: Set<String>) -> Int {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) { return 3 }
        if flags.contains("avx2") && flags.contains("fma") { return 2 }
        if flags.contains("avx") { return 1 }
        return 0
    }

    /// The core type to force, or nil to keep the library's choice. Pure: tested on its own.
    public static func decide(detected: String, cpuFlags: Set<String>,
                              userCoreType: String?, policy: String?) -> (force: String?, note: String) {
        let policy = (policy ?? "auto").lowercased()
        let cpu = tier(ofCPUFlags: cpuFlags)
        switch policy {
        case "keep":
            return (nil, "NSAS_OPENBLAS_CORE=keep")
        case "auto", "upgrade", "":
            if policy != "upgrade", let user = userCoreType, !user.isEmpty {
                return (nil, "OPENBLAS_CORETYPE=\(user) set by the user")
            }
            guard let have = tier(ofCore: detected) else {
                return (nil, "unknown core name, kept")
            }
            if have >= cpu { return (nil, "matches the CPU") }
            let want = tierCore[cpu]!
            return (want, "CPU supports \(want) kernels; upgraded")
        default:
            return (policy, "forced by NSAS_OPENBLAS_CORE")
        }
    }

    /// Flags of the first CPU in /proc/cpuinfo; empty where that file does not exist.
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            }
        }
        return []
    }

    /// The core OpenBLAS is using now.
    public static var currentCore: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// Runs once, before the first BLAS call (Swift initialises a static `let` exactly once,
    /// thread-safely); later reads return the first result.
    public static let status: Status = ensureFastKernels()

    private static func ensureFastKernels() -> Status {
        let env = ProcessInfo.processInfo.environment
        let detected = currentCore
        let flags = cpuFlags()
        let (force, note) = decide(detected: detected, cpuFlags: flags,
                                   userCoreType: env["OPENBLAS_CORETYPE"], policy: env["NSAS_OPENBLAS_CORE"])
        if let force {
            setenv("OPENBLAS_CORETYPE", force, 1)
            gotoblas_dynamic_quit()
            gotoblas_dynamic_init()
        }
        return Status(detected: detected, inUse: currentCore, cpuTier: tier(ofCPUFlags: flags), note: note)
    }
}
