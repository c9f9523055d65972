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

/// `--threads`, which every command that computes takes.
public struct ThreadOptions: ParsableArguments {
    @Option(help: "Compute threads (default: NSAS_THREADS, else the CPUs this process may use: its affinity mask and cgroup CPU quota).")
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024, not \(threads)") }
    }

    /// Decides the thread count (flag, NSAS_THREADS, affinity mask and cgroup quota) and applies it;
    /// returns "N threads (why)" for the start-up line.
    @discardableResult
    public func configure() throws -> String {
        let d = try Threads.decide(requested: threads)
        Threads.configure(d)
        return "\(d.count) thread\(d.count == 1 ? "" : "s") (\(d.reason))"
    }
}

/// The backend option every compute command shares (with `--threads`).
public struct BackendOptions: ParsableArguments {
    @Option(help: "Compute backend: blas (fast, default) or reference (plain Swift, the definition of every kernel).")
    public var backend: BackendKind = .default

    public init() {}

    @OptionGroup public var threading: ThreadOptions

    public var kind: BackendKind { backend }

    /// Applies `--threads`, then makes the backend; with the start-up line (core, threads and why).
    public func make() throws -> (any Backend, String) {
        let threads = try threading.configure()
        let b = kind.make()
        if let blas = b as? BLASBackend { return (b, "backend blas, \(blas.core.summary), \(threads)") }
        return (b, "backend reference (plain Swift)")
    }
}
