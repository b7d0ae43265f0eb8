public import ArgumentParser
public import Logging

/// `--log-level`, shared by every Herald command: validated with the others, and the one place that sets up
/// swift-log's backend (text lines on standard error).
public struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (logs go to standard error).")
    public var logLevel: String = "info"

    public init() {}

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \"\(logLevel)\" is not a level") }
    }

    /// Bootstraps the logging system once per process and returns the program's logger.
    public func bootstrap(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

/// A failure after the arguments were accepted: printed as `Error: …`, exit status 1, without the usage text.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
