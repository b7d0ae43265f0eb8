public import ArgumentParser
public import Logging

/// `--log-level` and `--log-format`, shared by every Herald command: validated with the others, and the one
/// place that sets up swift-log's backend (text or JSON lines on standard error).
public struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (logs go to standard error).")
    public var logLevel: String = "info"

    @Option(help: "text (one readable line per record) or json (one JSON object per line, for log pipelines).")
    public var logFormat: String = "text"

    public init() {}

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \"\(logLevel)\" is not a level")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format \"\(logFormat)\" is not text or json")
        }
    }

    /// Bootstraps the logging system once per process and returns the program's logger.
    public func bootstrap(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
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
