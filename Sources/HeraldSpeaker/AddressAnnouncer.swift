public import HeraldCore
public import L2Announcer
public import Logging
public import ServiceLifecycle
import Synchronization

/// What the reconciler drives: the set of IPs this node answers for, each on some interfaces. The Linux
/// implementation is `InterfaceAnnouncer`; tests use a recording one.
public protocol AddressAnnouncer: Sendable {
    /// Makes the announced set exactly `desired` (an IP → its interfaces; nil: every interface): answers and
    /// announces what is new, stops at once for what is gone. Returns the IPs that could not be announced, why.
    func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String]
    /// Every interface it can announce on (what "every interface" means for an IP with no restriction).
    var interfaceNames: [String] { get }
    /// The MACs it answers from (the others learn them through gossip, to tell a speaker from a stranger).
    var macs: [MACAddress] { get }
    /// Announces `ip` again on every interface it is announced on (to win neighbours back in a conflict).
    func reannounce(_ ip: IPAddress) async
    /// Keeps reporting claims of `ips` (and probing for them) without answering for them.
    func watch(_ ips: Set<IPAddress>) async
    /// Another MAC claiming an announced or watched IP (one consumer: the reconciler).
    var claims: AsyncStream<ForeignClaim> { get }
    /// The interface names after each change of the set (one consumer: the reconciler).
    var interfaceChanges: AsyncStream<[String]> { get }
}

/// `AddressAnnouncer` over one `InterfaceSpeaker` per interface (L2Announcer's ARP/NDP responders), and the
/// `Service` that runs them.
///
/// Interfaces named by the operator are fixed: a responder waits for its interface to come back. Without names
/// the set follows the node, as MetalLB's speaker does: every `Discovery.interval` a responder starts on each
/// new interface that is up, has a MAC and is not a container or CNI link, and the responder of an interface
/// that no longer exists stops (its thread with it). A new responder takes up at once what the others announce.
public final class InterfaceAnnouncer: AddressAnnouncer, Service {
    /// How to follow the node's interfaces when none were named.
    public struct Discovery: Sendable {
        public var interval: Duration
        /// Every interface now (name, and whether it may be announced on by default).
        public var list: @Sendable () throws -> [(name: String, announceable: Bool)]
        /// A responder on one interface, its socket open.
        public var make: @Sendable (String) throws -> InterfaceSpeaker

        public init(interval: Duration = .seconds(2), list: @escaping @Sendable () throws -> [(name: String, announceable: Bool)],
                    make: @escaping @Sendable (String) throws -> InterfaceSpeaker) {
            self.interval = interval
            self.list = list
            self.make = make
        }
    }

    private struct State {
        var speakers: [String: InterfaceSpeaker]
        var desired: [IPAddress: Set<String>?] = [:]
        var watched: Set<IPAddress> = []
        /// New interfaces a responder could not be opened on, so each is reported once.
        var refused: Set<String> = []
    }

    public let claims: AsyncStream<ForeignClaim>
    public let interfaceChanges: AsyncStream<[String]>
    private let claimed: AsyncStream<ForeignClaim>.Continuation
    private let changed: AsyncStream<[String]>.Continuation
    private let added: AsyncStream<InterfaceSpeaker>
    private let adding: AsyncStream<InterfaceSpeaker>.Continuation
    private let state: Mutex<State>
    private let initial: [InterfaceSpeaker]
    private let discovery: Discovery?
    private let logger: Logger

    public init(speakers: [InterfaceSpeaker], discovery: Discovery? = nil, logger: Logger) {
        self.logger = logger
        self.discovery = discovery
        initial = speakers
        state = Mutex(State(speakers: Dictionary(speakers.map { ($0.interfaceName, $0) }, uniquingKeysWith: { first, _ in first })))
        // A burst of claims (a GARP storm) must not grow memory: the newest are the ones that matter.
        (claims, claimed) = AsyncStream.makeStream(of: ForeignClaim.self, bufferingPolicy: .bufferingNewest(256))
        (interfaceChanges, changed) = AsyncStream.makeStream(of: [String].self, bufferingPolicy: .bufferingNewest(1))
        (added, adding) = AsyncStream.makeStream(of: InterfaceSpeaker.self)
        for speaker in speakers { speaker.onClaim { [claimed] in claimed.yield($0) } }
    }

    /// The responders now, by interface name.
    public var speakers: [InterfaceSpeaker] { state.withLock { $0.speakers.values.sorted { $0.interfaceName < $1.interfaceName } } }

    public var interfaceNames: [String] { state.withLock { $0.speakers.keys.sorted() } }

    public var macs: [MACAddress] { speakers.compactMap(\.interface.mac) }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for speaker in initial {
                // A responder that cannot run ends the service (and the program) with its error, as at start.
                group.addTask { [adding] in
                    do { try await speaker.run() } catch {
                        adding.finish()
                        throw error
                    }
                }
            }
            if let discovery {
                group.addTask { await cancelWhenGracefulShutdown { await self.follow(discovery) } }
            }
            for await speaker in added.cancelOnGracefulShutdown() {
                group.addTask {
                    do { try await speaker.run() } catch {
                        // Not listed as answered on; the next scan tries again.
                        self.logger.error("the responder stopped", metadata: ["interface": "\(speaker.interfaceName)", "error": "\(error)"])
                        self.detach(speaker)
                    }
                }
            }
        }
    }

    public func reannounce(_ ip: IPAddress) async {
        for speaker in speakers { speaker.reannounce(ip) }
    }

    public func watch(_ ips: Set<IPAddress>) async {
        state.withLock { state in
            state.watched = ips
            for speaker in state.speakers.values { speaker.watch(ips) }
        }
    }

    public func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String] {
        state.withLock { state in
            state.desired = desired
            var failures = Self.unmatched(desired, interfaces: Array(state.speakers.keys))
            for speaker in state.speakers.values { apply(desired, to: speaker, failures: &failures) }
            return failures
        }
    }

    private func apply(_ desired: [IPAddress: Set<String>?], to speaker: InterfaceSpeaker, failures: inout [IPAddress: String]) {
        let wanted = Set(desired.compactMap { ip, interfaces in interfaces.map { $0.contains(speaker.interfaceName) } ?? true ? ip : nil })
        for ip in speaker.announced.subtracting(wanted) { speaker.withdraw(ip) }
        for ip in wanted.subtracting(speaker.announced) {
            do { try speaker.announce(ip) } catch {
                failures[ip] = "\(speaker.interfaceName): \(error)"
                logger.error("cannot announce", metadata: ["ip": "\(ip)", "interface": "\(speaker.interfaceName)", "error": "\(error)"])
            }
        }
    }

    /// The IPs restricted to interfaces (an L2Advertisement's `interfaces`) of which this speaker has none:
    /// no one would answer for them here, so they are reported rather than silently left unanswered.
    public static func unmatched(_ desired: [IPAddress: Set<String>?], interfaces: [String]) -> [IPAddress: String] {
        var unmatched: [IPAddress: String] = [:]
        for case let (ip, allowed?) in desired where allowed.isDisjoint(with: interfaces) {
            unmatched[ip] = "the L2Advertisement allows only \(allowed.sorted().joined(separator: ", ")), and this speaker answers on "
                + (interfaces.isEmpty ? "no interface" : interfaces.sorted().joined(separator: ", "))
        }
        return unmatched
    }

    // MARK: Following the node's interfaces

    private func follow(_ discovery: Discovery) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: discovery.interval) } catch { return }
            rescan(discovery)
        }
    }

    /// One look at the node's interfaces: responders for new ones, none for those that are gone.
    func rescan(_ discovery: Discovery) {
        let present: [(name: String, announceable: Bool)]
        do { present = try discovery.list() } catch {
            logger.warning("cannot list interfaces; keeping the responders as they are", metadata: ["error": "\(error)"])
            return
        }
        let names = Set(present.map(\.name))
        let (known, refused) = state.withLock { (Set($0.speakers.keys), $0.refused) }
        var changes = false
        for interface in present where interface.announceable && !known.contains(interface.name) {
            do {
                let speaker = try discovery.make(interface.name)
                attach(speaker)
                logger.notice("new interface; answering on it", metadata: ["interface": "\(interface.name)", "mac": "\(speaker.interface.mac.map(\.description) ?? "-")"])
                changes = true
            } catch {
                if !refused.contains(interface.name) {
                    logger.warning("new interface; cannot answer on it", metadata: ["interface": "\(interface.name)", "error": "\(error)"])
                }
                state.withLock { _ = $0.refused.insert(interface.name) }
            }
        }
        for name in known.subtracting(names).sorted() {
            // Gone from the kernel, not merely down (a responder waits out a link that is down).
            guard let speaker = state.withLock({ $0.speakers.removeValue(forKey: name) }) else { continue }
            speaker.stop()
            logger.notice("interface gone; its responder stopped", metadata: ["interface": "\(name)"])
            changes = true
        }
        state.withLock { $0.refused.formIntersection(names) }
        if changes { changed.yield(interfaceNames) }
    }

    /// Forgets a responder that stopped on its own.
    private func detach(_ speaker: InterfaceSpeaker) {
        let removed = state.withLock { state in
            guard state.speakers[speaker.interfaceName] === speaker else { return false }
            state.speakers.removeValue(forKey: speaker.interfaceName)
            return true
        }
        if removed { changed.yield(interfaceNames) }
    }

    /// A new responder: claims reported, and what is announced and watched now taken up at once.
    private func attach(_ speaker: InterfaceSpeaker) {
        speaker.onClaim { [claimed] in claimed.yield($0) }
        state.withLock { state in
            state.speakers[speaker.interfaceName] = speaker
            state.refused.remove(speaker.interfaceName)
            speaker.watch(state.watched)
            var ignored: [IPAddress: String] = [:]
            apply(state.desired, to: speaker, failures: &ignored)
        }
        adding.yield(speaker)
    }
}
