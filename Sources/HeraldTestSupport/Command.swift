public import Foundation

/// The outcome of a finished command.
public struct CommandResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var output: String
    public var errorOutput: String

    public var succeeded: Bool { status == 0 }
    public var description: String {
        "exit \(status)\n\(output)\(errorOutput.isEmpty ? "" : "\nstderr: \(errorOutput)")"
    }
}

/// A command that failed or ran past its limit.
public struct CommandError: Error, CustomStringConvertible {
    public var command: [String]
    public var result: CommandResult?
    public var description: String {
        "\(command.joined(separator: " ")): " + (result.map(\.description) ?? "did not finish in time")
    }
}

/// Runs programs for tests: every run is bounded in time.
public enum Command {
    /// Runs `arguments` (looked up on PATH) to completion, or kills it after `limit`.
    ///
    /// Output goes to temporary files, not pipes: a program that leaves a daemon behind (which inherits the
    /// descriptors) would otherwise keep a pipe open and the read would never end. Spawned like
    /// `BackgroundProcess`, with an empty signal mask.
    @discardableResult
    public static func run(
        _ arguments: [String], limit: Duration = .seconds(30), check: Bool = true
    ) async throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory.path
        let outPath = "\(directory)/herald-command-\(UUID().uuidString).out", errPath = outPath.dropLast(4) + ".err"
        defer { unlink(outPath); unlink(String(errPath)) }
        let child = try spawn(arguments, stdout: outPath, stderr: String(errPath))
        let deadline = ContinuousClock.now + limit
        var status: Int32 = 0
        while waitpid(child, &status, WNOHANG) != child {
            if ContinuousClock.now > deadline {
                kill(child, SIGKILL)
                _ = waitpid(child, nil, 0)
                throw CommandError(
                    command: arguments,
                    result: CommandResult(status: -1, output: read(outPath), errorOutput: "killed after \(limit)"))
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let signal = status & 0x7f
        let result = CommandResult(
            status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, output: read(outPath),
            errorOutput: read(String(errPath)))
        if check && !result.succeeded { throw CommandError(command: arguments, result: result) }
        return result
    }

    private static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// posix_spawnp with stdin from /dev/null, stdout and stderr to files, an empty signal mask and default
    /// dispositions (the test runner's threads block signals, and children would inherit that).
    static func spawn(_ arguments: [String], stdout: String, stderr: String?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let stderr {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child = pid_t()
        let result = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw CommandError(
                command: arguments,
                result: CommandResult(status: -1, output: "", errorOutput: String(cString: strerror(result))))
        }
        return child
    }

    /// Whether `tool` is on PATH.
    public static func exists(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":").contains
        {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }
}

/// A long-running program started by a test, stopped by signal with a bounded wait.
///
/// Spawned with posix_spawn, an empty signal mask and default dispositions: a test runner's threads block most
/// signals, Foundation's `Process` passes that mask on, and a child such as tcpdump then never sees SIGTERM.
public final class BackgroundProcess: @unchecked Sendable {
    public let arguments: [String]
    public let pid: pid_t
    private let log: String
    private var exitStatus: Int32?

    /// Starts `arguments` (looked up on PATH); standard output and error go to a temporary file, read by `logText`.
    public init(_ arguments: [String]) throws {
        self.arguments = arguments
        log = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString).log").path
        pid = try Command.spawn(arguments, stdout: log, stderr: nil)
    }

    public var isRunning: Bool { reap() == nil }
    public var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// The exit status once the process has ended (a signal that killed it counts as 128 + signal).
    private func reap() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return exitStatus
    }

    /// Sends `signal` and waits up to `limit` for the exit; returns the exit status. Kills it past the limit.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, limit: Duration = .seconds(10)) async throws -> Int32 {
        if reap() == nil { kill(pid, signal) }
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = reap() { return status }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, nil, 0)
                exitStatus = 128 + SIGKILL
                throw CommandError(
                    command: arguments,
                    result: CommandResult(
                        status: -1, output: logText, errorOutput: "did not exit within \(limit) of signal \(signal)"))
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    deinit {
        if reap() == nil {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
        unlink(log)
    }
}
