public import HeraldCore
public import L2Announcer
public import Logging

/// What the reconciler drives: the set of IPs this node answers for, each on some interfaces. The Linux
/// implementation is `InterfaceAnnouncer`; tests use a recording one.
public protocol AddressAnnouncer: Sendable {
    /// Makes the announced set exactly `desired` (an IP → its interfaces; nil: every interface): answers and
    /// announces what is new, stops at once for what is gone. Returns the IPs that could not be announced, why.
    func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String]
    /// Every interface it can announce on (what "every interface" means for an IP with no restriction).
    var interfaceNames: [String] { get }
    /// Announces `ip` again on every interface it is announced on (to win neighbours back in a conflict).
    func reannounce(_ ip: IPAddress) async
    /// Keeps reporting claims of `ips` (and probing for them) without answering for them.
    func watch(_ ips: Set<IPAddress>) async
    /// Another MAC claiming an announced or watched IP (one consumer: the reconciler).
    var claims: AsyncStream<ForeignClaim> { get }
}

/// `AddressAnnouncer` over one `InterfaceSpeaker` per allowed interface (L2Announcer's ARP/NDP responders).
public struct InterfaceAnnouncer: AddressAnnouncer {
    public let speakers: [InterfaceSpeaker]
    public let claims: AsyncStream<ForeignClaim>
    private let logger: Logger

    public init(speakers: [InterfaceSpeaker], logger: Logger) {
        self.speakers = speakers
        self.logger = logger
        // A burst of claims (a GARP storm) must not grow memory: the newest are the ones that matter.
        let (claims, continuation) = AsyncStream.makeStream(of: ForeignClaim.self, bufferingPolicy: .bufferingNewest(256))
        self.claims = claims
        for speaker in speakers { speaker.onClaim { continuation.yield($0) } }
    }

    public var interfaceNames: [String] { speakers.map(\.interfaceName) }

    public func reannounce(_ ip: IPAddress) async {
        for speaker in speakers { speaker.reannounce(ip) }
    }

    public func watch(_ ips: Set<IPAddress>) async {
        for speaker in speakers { speaker.watch(ips) }
    }

    public func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String] {
        var failures = Self.unmatched(desired, interfaces: interfaceNames)
        for speaker in speakers {
            let wanted = Set(desired.compactMap { ip, interfaces in interfaces.map { $0.contains(speaker.interfaceName) } ?? true ? ip : nil })
            for ip in speaker.announced.subtracting(wanted) { speaker.withdraw(ip) }
            for ip in wanted.subtracting(speaker.announced) {
                do { try speaker.announce(ip) } catch {
                    failures[ip] = "\(speaker.interfaceName): \(error)"
                    logger.error("cannot announce", metadata: ["ip": "\(ip)", "interface": "\(speaker.interfaceName)", "error": "\(error)"])
                }
            }
        }
        return failures
    }

    /// The IPs restricted to interfaces (an L2Advertisement's `interfaces`) of which this speaker has none:
    /// no one would answer for them here, so they are reported rather than silently left unanswered.
    public static func unmatched(_ desired: [IPAddress: Set<String>?], interfaces: [String]) -> [IPAddress: String] {
        var unmatched: [IPAddress: String] = [:]
        for case let (ip, allowed?) in desired where allowed.isDisjoint(with: interfaces) {
            unmatched[ip] = "the L2Advertisement allows only \(allowed.sorted().joined(separator: ", ")), and this speaker answers on "
                + (interfaces.isEmpty ? "no interface" : interfaces.joined(separator: ", "))
        }
        return unmatched
    }
}
