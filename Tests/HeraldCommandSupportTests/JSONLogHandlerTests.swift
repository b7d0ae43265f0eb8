import ArgumentParser
import Foundation
@testable import HeraldCommandSupport
import Logging
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
        func append(_ line: String) { storage.withLock { $0.append(line) } }
    }

    func logger(_ lines: Lines, level: Logger.Level = .info) -> Logger {
        Logger(label: "herald-speaker") { label in
            var handler = JSONLogHandler(label: label) { lines.append($0) }
            handler.logLevel = level
            return handler
        }
    }

    func object(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "one record, one line: \(line)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func aRecordIsOneJSONObjectWithItsMetadataAtTheTop() throws {
        let lines = Lines()
        var log = logger(lines)
        log[metadataKey: "node"] = "node-1"
        log.warning("another MAC announces this IP; announcing it again", metadata: [
            "ip": "203.0.113.200", "macs": ["02:00:00:00:00:01", "02:00:00:00:00:02"], "count": .stringConvertible(3),
            "detail": ["reason": "conflict"],
        ])
        let record = try object(try #require(lines.all.first))
        #expect(record["level"] as? String == "warning")
        #expect(record["logger"] as? String == "herald-speaker")
        #expect(record["message"] as? String == "another MAC announces this IP; announcing it again")
        #expect(record["node"] as? String == "node-1")
        #expect(record["ip"] as? String == "203.0.113.200")
        #expect(record["macs"] as? [String] == ["02:00:00:00:00:01", "02:00:00:00:00:02"])
        #expect(record["count"] as? String == "3")
        #expect((record["detail"] as? [String: String])?["reason"] == "conflict")
        let time = try #require(record["time"] as? String)
        #expect(try Date(time, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)).timeIntervalSinceNow.magnitude < 60)
    }

    @Test func hostileTextStaysInsideItsString() throws {
        let lines = Lines()
        let log = logger(lines)
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} unicode é 🚀"
        log.error("\(nasty)", metadata: [nasty: .string(nasty), "level": "forged"])
        let record = try object(try #require(lines.all.first))
        #expect(record["message"] as? String == nasty)
        #expect(record[nasty] as? String == nasty)
        #expect(record["level"] as? String == "error", "metadata cannot forge the record's own fields")
    }

    @Test func recordsBelowTheLevelAreDropped() {
        let lines = Lines()
        let log = logger(lines, level: .notice)
        log.info("not shown")
        log.notice("shown")
        #expect(lines.all.count == 1)
    }

    @Test func theOptionsRefuseAnUnknownFormat() throws {
        #expect(throws: (any Error).self) { try LoggingOptions.parse(["--log-format", "xml"]) }
        #expect(try LoggingOptions.parse(["--log-format", "json"]).logFormat == "json")
    }
}
