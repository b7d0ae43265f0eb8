/// When to send the frames announcing a newly gained address, as offsets from the moment it is gained.
///
/// The default, 0, 0.5, 1, 2 and 4 s, sends at once so that a client whose cache points at a dead node
/// switches within a round trip, then repeats: one lost frame or a client that was busy must not leave the
/// old MAC cached until its entry expires (30 s and more on many hosts), and the doubling keeps the total to
/// five bursts. Linux's own `arp_notify` sends once; MetalLB sends once per gain.
public struct AnnouncementSchedule: Hashable, Sendable, CustomStringConvertible {
    public var offsets: [Duration]

    public init(offsets: [Duration]) { self.offsets = offsets.sorted() }

    public static let standard = AnnouncementSchedule(offsets: [
        .zero, .milliseconds(500), .seconds(1), .seconds(2), .seconds(4),
    ])

    /// Parses comma-separated offsets in milliseconds, e.g. `0,500,1000,2000,4000`.
    public init?(milliseconds text: String) {
        var offsets: [Duration] = []
        for part in text.split(separator: ",") {
            guard let value = Int(part.trimmingCharacters(in: " ")), value >= 0, value <= 600_000 else { return nil }
            offsets.append(.milliseconds(value))
        }
        guard !offsets.isEmpty else { return nil }
        self.init(offsets: offsets)
    }

    public var description: String {
        offsets.map { String($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }.joined(
            separator: ",")
    }
}
