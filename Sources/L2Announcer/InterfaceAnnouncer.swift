public import HeraldCore
public import Logging
public import ServiceLifecycle
import Synchronization

/// What the speaker's reconciler drives: the set of IPs this node answers for, each on some interfaces. The Linux
/// implementation is `InterfaceAnnouncer`; tests use a recording one.
public protocol AddressAnnouncer: Sendable {
    /// Makes the announced set exactly `desired` (an IP → its interfaces; nil: every interface): answers and
    /// announces what is new, stops at once for what is gone. Returns the IPs that could not be announced, why.
    func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String]
    /// Every interface it can announce on (what "every interface" means for an IP with no restriction).
    var interfaceNames: [String] { get }
    /// The MACs it answers from (the others learn them through gossip, to tell a speaker from a stranger).
    var macs: [MACAddress] { get }
    /// Its interfaces and those of them without carrier (the others learn them through gossip: a node whose
    /// links for an IP all lack carrier yields it).
    var links: NodeLinks { get }
    /// Announces `ip` again on every interface it is announced on (to win neighbours back in a conflict).
    func reannounce(_ ip: IPAddress) async
    /// Keeps reporting claims of `ips` (and probing for them) without answering for them.
    func watch(_ ips: Set<IPAddress>) async
    /// Another MAC claiming an announced or watched IP (one consumer: the reconciler).
    var claims: AsyncStream<ForeignClaim> { get }
    /// The interface names after each change of the set or of a carrier (one consumer: the reconciler).
    var interfaceChanges: AsyncStream<[String]> { get }
}

/// `AddressAnnouncer` over one `InterfaceResponder` per interface (L2Announcer's ARP/NDP responders), and the
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
        public var make: @Sendable (String) throws -> InterfaceResponder

        public init(
            interval: Duration = .seconds(2),
            list: @escaping @Sendable () throws -> [(name: String, announceable: Bool)],
            make: @escaping @Sendable (String) throws -> InterfaceResponder
        ) {
            self.interval = interval
            self.list = list
            self.make = make
        }
    }

    private struct State {
        var responders: [String: InterfaceResponder]
        var desired: [IPAddress: Set<String>?] = [:]
        var watched: Set<IPAddress> = []
        /// New interfaces a responder could not be opened on, so each is reported once.
        var refused: Set<String> = []
    }

    public let claims: AsyncStream<ForeignClaim>
    public let interfaceChanges: AsyncStream<[String]>
    private let claimed: AsyncStream<ForeignClaim>.Continuation
    private let changed: AsyncStream<[String]>.Continuation
    private let added: AsyncStream<InterfaceResponder>
    private let adding: AsyncStream<InterfaceResponder>.Continuation
    private let state: Mutex<State>
    private let initial: [InterfaceResponder]
    private let discovery: Discovery?
    private let logger: Logger

    public init(responders: [InterfaceResponder], discovery: Discovery? = nil, logger: Logger) {
        self.logger = logger
        self.discovery = discovery
        initial = responders
        state = Mutex(
            State(
                responders: Dictionary(
                    responders.map { ($0.interfaceName, $0) }, uniquingKeysWith: { first, _ in first })))
        // A burst of claims (a GARP storm) must not grow memory: the newest are the ones that matter.
        (claims, claimed) = AsyncStream.makeStream(of: ForeignClaim.self, bufferingPolicy: .bufferingNewest(256))
        (interfaceChanges, changed) = AsyncStream.makeStream(of: [String].self, bufferingPolicy: .bufferingNewest(1))
        (added, adding) = AsyncStream.makeStream(of: InterfaceResponder.self)
        for responder in responders { listen(to: responder) }
    }

    /// Claims and carrier changes of `responder` reported.
    private func listen(to responder: InterfaceResponder) {
        responder.onClaim { [claimed] in claimed.yield($0) }
        responder.onCarrierChange { [weak self] _ in
            guard let self else { return }
            changed.yield(interfaceNames)
        }
    }

    /// The responders now, by interface name.
    public var responders: [InterfaceResponder] {
        state.withLock { $0.responders.values.sorted { $0.interfaceName < $1.interfaceName } }
    }

    public var interfaceNames: [String] { state.withLock { $0.responders.keys.sorted() } }

    public var macs: [MACAddress] { responders.compactMap(\.interface.mac) }

    public var links: NodeLinks {
        let all = responders
        return NodeLinks(
            interfaces: Set(all.map(\.interfaceName)),
            withoutCarrier: Set(all.filter { !$0.hasCarrier }.map(\.interfaceName)))
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for responder in initial {
                // A responder that cannot run ends the service (and the program) with its error, as at start.
                group.addTask { [adding] in
                    do { try await responder.run() } catch {
                        adding.finish()
                        throw error
                    }
                }
            }
            if let discovery {
                group.addTask { await cancelWhenGracefulShutdown { await self.follow(discovery) } }
            }
            for await responder in added.cancelOnGracefulShutdown() {
                group.addTask {
                    do { try await responder.run() } catch {
                        // Not listed as answered on; the next scan tries again.
                        self.logger.error(
                            "the responder stopped",
                            metadata: ["interface": "\(responder.interfaceName)", "error": "\(error)"])
                        self.detach(responder)
                    }
                }
            }
        }
    }

    public func reannounce(_ ip: IPAddress) async {
        for responder in responders { responder.reannounce(ip) }
    }

    public func watch(_ ips: Set<IPAddress>) async {
        state.withLock { state in
            state.watched = ips
            for responder in state.responders.values { responder.watch(ips) }
        }
    }

    public func apply(_ desired: [IPAddress: Set<String>?]) async -> [IPAddress: String] {
        state.withLock { state in
            state.desired = desired
            var failures = Self.unmatched(desired, interfaces: Array(state.responders.keys))
            for responder in state.responders.values { apply(desired, to: responder, failures: &failures) }
            return failures
        }
    }

    private func apply(
        _ desired: [IPAddress: Set<String>?], to responder: InterfaceResponder, failures: inout [IPAddress: String]
    ) {
        let wanted = Set(
            desired.compactMap { ip, interfaces in
                interfaces.map { $0.contains(responder.interfaceName) } ?? true ? ip : nil
            })
        for ip in responder.announced.subtracting(wanted) { responder.withdraw(ip) }
        for ip in wanted.subtracting(responder.announced) {
            do { try responder.announce(ip) } catch {
                failures[ip] = "\(responder.interfaceName): \(error)"
                logger.error(
                    "cannot announce",
                    metadata: ["ip": "\(ip)", "interface": "\(responder.interfaceName)", "error": "\(error)"])
            }
        }
    }

    /// The IPs restricted to interfaces (an L2Advertisement's `interfaces`) of which this speaker has none:
    /// no one would answer for them here, so they are reported rather than silently left unanswered.
    public static func unmatched(_ desired: [IPAddress: Set<String>?], interfaces: [String]) -> [IPAddress: String] {
        var unmatched: [IPAddress: String] = [:]
        for case let (ip, allowed?) in desired where allowed.isDisjoint(with: interfaces) {
            unmatched[ip] =
                "the L2Advertisement allows only \(allowed.sorted().joined(separator: ", ")), "
                + "and this speaker answers on "
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
            logger.warning(
                "cannot list interfaces; keeping the responders as they are", metadata: ["error": "\(error)"])
            return
        }
        let names = Set(present.map(\.name))
        let (known, refused) = state.withLock { (Set($0.responders.keys), $0.refused) }
        var changes = false
        for interface in present where interface.announceable && !known.contains(interface.name) {
            do {
                let responder = try discovery.make(interface.name)
                attach(responder)
                logger.notice(
                    "new interface; answering on it",
                    metadata: [
                        "interface": "\(interface.name)", "mac": "\(responder.interface.mac.map(\.description) ?? "-")",
                    ])
                changes = true
            } catch {
                if !refused.contains(interface.name) {
                    logger.warning(
                        "new interface; cannot answer on it",
                        metadata: ["interface": "\(interface.name)", "error": "\(error)"])
                }
                state.withLock { _ = $0.refused.insert(interface.name) }
            }
        }
        for name in known.subtracting(names).sorted() {
            // Gone from the kernel, not merely down (a responder waits out a link that is down).
            guard let responder = state.withLock({ $0.responders.removeValue(forKey: name) }) else { continue }
            responder.stop()
            logger.notice("interface gone; its responder stopped", metadata: ["interface": "\(name)"])
            changes = true
        }
        state.withLock { $0.refused.formIntersection(names) }
        if changes { changed.yield(interfaceNames) }
    }

    /// Forgets a responder that stopped on its own.
    private func detach(_ responder: InterfaceResponder) {
        let removed = state.withLock { state in
            guard state.responders[responder.interfaceName] === responder else { return false }
            state.responders.removeValue(forKey: responder.interfaceName)
            return true
        }
        if removed { changed.yield(interfaceNames) }
    }

    /// A new responder: claims reported, and what is announced and watched now taken up at once.
    private func attach(_ responder: InterfaceResponder) {
        listen(to: responder)
        state.withLock { state in
            state.responders[responder.interfaceName] = responder
            state.refused.remove(responder.interfaceName)
            responder.watch(state.watched)
            var ignored: [IPAddress: String] = [:]
            apply(state.desired, to: responder, failures: &ignored)
        }
        adding.yield(responder)
    }
}
