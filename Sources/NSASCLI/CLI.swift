import ArgumentParser
import Foundation
import NSASBackends

/// Runs a command's body, turning any error into one line on stderr and exit code 1
/// (argument errors keep ArgumentParser's own message and code).
public func runReportingErrors(_ tool: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("\(tool): error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// The backend option every compute command shares.
public struct BackendOptions: ParsableArguments {
    @Option(help: "Compute backend: blas (fast, default) or reference (plain Swift, the definition of every kernel).")
    public var backend: BackendKind = .default

    public init() {}

    public var kind: BackendKind { backend }

    /// The backend, with the OpenBLAS core line for start-up output.
    public func make() -> (any Backend, String) {
        let b = kind.make()
        if let blas = b as? BLASBackend { return (b, "backend blas, \(blas.core.summary), \(Parallel.threads) threads") }
        return (b, "backend reference (plain Swift)")
    }
}
