public import Foundation

/// The API's time formats: RFC 3339 (`2026-11-25T12:00:00Z`) for Time, with microseconds for MicroTime.
public enum Timestamps {
    /// Seconds since the epoch from RFC 3339 text, fractional seconds allowed.
    public static func seconds(_ text: String) -> Int64? {
        date(text).map { Int64($0.timeIntervalSince1970) }
    }

    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `Time`: whole seconds.
    public static func time(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// `MicroTime`: six fractional digits, as Leases carry them.
    public static func microTime(_ date: Date = Date()) -> String {
        let seconds = floor(date.timeIntervalSince1970)
        let micros = Int((date.timeIntervalSince1970 - seconds) * 1_000_000)
        let base = time(Date(timeIntervalSince1970: seconds))
        return base.dropLast() + "." + String(format: "%06d", micros) + "Z"
    }
}
