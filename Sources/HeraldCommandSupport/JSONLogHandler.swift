import Foundation
import Glibc
public import Logging

/// One JSON object per line on standard error, for log pipelines (Loki, Elasticsearch, Cloud Logging):
/// `{"time":"2026-11-25T20:49:24.123Z","level":"info","logger":"herald-speaker",
/// "message":"…","source":"GossipNode",…}`
/// with every metadata key at the top level (nested values as JSON arrays and objects). Keys Herald sets
/// itself (`time`, `level`, `logger`, `message`, `source`) win over metadata of the same name.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(
        label: String, metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let fixed: [(String, String)] = [
            ("time", Self.quoted(Date().formatted(Self.timeFormat))),
            ("level", Self.quoted(event.level.rawValue)),
            ("logger", Self.quoted(label)),
            ("message", Self.quoted(event.message.description)),
            ("source", Self.quoted(event.source)),
        ]
        let reserved = Set(fixed.map(\.0))
        var fields = fixed.map { "\(Self.quoted($0.0)):\($0.1)" }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !reserved.contains(key) {
            fields.append("\(Self.quoted(key)):\(Self.json(value))")
        }
        write("{" + fields.joined(separator: ",") + "}\n")
    }

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static let standardError: @Sendable (String) -> Void = { line in
        // One write(2) per record, not buffered: lines from threads do not interleave, and none is lost in a
        // buffer when the process is killed.
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): quoted(string)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{"
                + dictionary.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(json($0.value))" }.joined(
                    separator: ",") + "}"
        }
    }

    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
    static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
