import CLinuxNet
public import CoreMetrics
public import HeraldCore
import HeraldWire
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Answers ARP and Neighbour Solicitations for the addresses it announces on one interface, and tells the LAN
/// when it gains one.
///
/// Frames are read on a dedicated thread and answered from it. When the interface goes down, or is deleted and
/// created again (a network restart), the speaker waits for it, opens a new socket if it must, joins its
/// multicast groups again and re-announces every address — MetalLB's responders stay dead after that.
public final class InterfaceResponder: Service, Sendable {
    /// Who answers Neighbour Solicitations.
    public enum NDPMode: String, Hashable, Sendable, CaseIterable {
        /// Herald's packet socket (the default: needs no sysctl, answers at once, sets Override).
        case responder
        /// The kernel, through neighbour proxy entries; see `ProxyNeighbours` for its limits.
        case kernelProxy = "kernel-proxy"
    }

    public let interfaceName: String
    public let schedule: AnnouncementSchedule
    public let ndpMode: NDPMode
    /// How often to ask, for each announced address, whether another MAC answers for it too (an RFC 5227 ARP
    /// probe, or a DAD solicitation for IPv6; nil: never). Two owners after a partition heals find each other
    /// this way: their answers to clients are unicast, so neither would see the other.
    public let conflictProbeInterval: Duration?
    /// How often to announce every owned address again, after its gain's schedule (nil: never, the default):
    /// for a switch or gateway whose tables age out faster than the clients' neighbour caches.
    public let refreshInterval: Duration?
    private let claimHandler = Mutex<(@Sendable (ForeignClaim) -> Void)?>(nil)
    private let carrierHandler = Mutex<(@Sendable (Bool) -> Void)?>(nil)
    /// Whether the link has carrier (and is up), as the receive thread last saw it.
    private let carrier: Mutex<Bool>
    /// Addresses not answered for whose claims are still reported, and probed: yielded in a conflict.
    private let watched = Mutex<Set<IPAddress>>([])
    /// Set by `stop()`: the interface is gone, and its metric series go with it.
    private let stopped = Mutex(false)
    let table = OwnershipTable()
    let metrics: L2Metrics
    let logger: Logger
    private let armed: Mutex<Armed>
    private let gains: AsyncStream<IPAddress>
    private let gained: AsyncStream<IPAddress>.Continuation
    /// The network namespace the speaker was made in: its reader thread works there, whichever thread
    /// starts it (libnl look-ups and link events are per namespace).
    private let namespace: Int32

    /// The socket and what was learnt of the interface when it was opened.
    struct Armed: Sendable {
        let interface: NetworkInterface
        let socket: PacketSocket
        let membership: MulticastMembership
        var policy: ResponderPolicy { ResponderPolicy(mac: interface.mac ?? .zero) }
    }

    /// Opens the interface's socket now, so that a missing interface or privilege fails at start-up.
    public init(
        interfaceName: String, schedule: AnnouncementSchedule = .standard, ndpMode: NDPMode = .responder,
        conflictProbeInterval: Duration? = .seconds(1), refreshInterval: Duration? = nil, logger: Logger,
        metricsFactory: any MetricsFactory
    ) throws(ResponderStartError) {
        self.interfaceName = interfaceName
        self.schedule = schedule
        self.ndpMode = ndpMode
        self.conflictProbeInterval = conflictProbeInterval
        self.refreshInterval = refreshInterval
        var logger = logger
        logger[metadataKey: "interface"] = "\(interfaceName)"
        self.logger = logger
        metrics = L2Metrics(interface: interfaceName, factory: metricsFactory)
        let first = try Self.arm(interfaceName)
        armed = Mutex(first)
        carrier = Mutex(first.interface.isUp && first.interface.hasCarrier)
        (gains, gained) = AsyncStream.makeStream(of: IPAddress.self)
        namespace = CLinuxNet_current_network_namespace()
        if ndpMode == .kernelProxy {
            let missing = ProxyNeighbours.missingSettings(interface: interfaceName)
            if !missing.isEmpty {
                logger.warning(
                    "kernel proxy NDP will miss or delay answers; set these sysctls",
                    metadata: ["missing": "\(missing.joined(separator: " "))"])
            }
        }
        metrics.carrier.record(hasCarrier ? 1 : 0)
    }

    static func arm(_ name: String) throws(ResponderStartError) -> Armed {
        let interface: NetworkInterface
        do { interface = try InterfaceDirectory.named(name) } catch { throw ResponderStartError(error.description) }
        guard let mac = interface.mac, mac != .zero else {
            throw ResponderStartError("interface \(name) has no MAC address; ARP and NDP need an Ethernet-like link")
        }
        do throws(SocketError) {
            let socket = try PacketSocket(
                interfaceName: name, interfaceIndex: interface.index, filter: .addressResolution)
            return Armed(
                interface: interface, socket: socket, membership: try MulticastMembership(interface: interface))
        } catch {
            throw ResponderStartError(error.description)
        }
    }

    deinit { if namespace >= 0 { close(namespace) } }

    /// The interface as it was when the socket was (last) opened.
    public var interface: NetworkInterface { armed.withLock { $0.interface } }

    /// The announced IPv6 addresses, whose solicited-node groups must be joined.
    private var ipv6Addresses: [IPv6Address] {
        table.all.compactMap { if case .v6(let address) = $0 { address } else { nil } }
    }

    /// Starts answering for `ip` at once and schedules its announcements.
    public func announce(_ ip: IPAddress) throws(ResponderStartError) {
        guard table.insert(ip) else { return }
        if case .v6(let address) = ip {
            let current = armed.withLock { $0 }
            if let refused = current.membership.reconcile(with: ipv6Addresses)[address.solicitedNodeMulticast] {
                table.remove(ip)
                current.membership.reconcile(with: ipv6Addresses)
                throw ResponderStartError(refused.description)
            }
            if ndpMode == .kernelProxy {
                do { try ProxyNeighbours.add(address, interfaceIndex: current.interface.index) } catch {
                    table.remove(ip)
                    current.membership.reconcile(with: ipv6Addresses)
                    throw ResponderStartError(error.description)
                }
            }
        }
        logger.notice("announcing", metadata: ["ip": "\(ip)"])
        gained.yield(ip)
    }

    /// Stops answering for `ip` at once.
    public func withdraw(_ ip: IPAddress) {
        guard table.remove(ip) else { return }
        if case .v6(let address) = ip {
            let current = armed.withLock { $0 }
            current.membership.reconcile(with: ipv6Addresses)
            if ndpMode == .kernelProxy {
                do { try ProxyNeighbours.remove(address, interfaceIndex: current.interface.index) } catch {
                    logger.warning(
                        "could not remove the proxy neighbour entry", metadata: ["ip": "\(ip)", "error": "\(error)"])
                }
            }
        }
        logger.notice("withdrawn", metadata: ["ip": "\(ip)"])
    }

    /// Brings the interface's kernel state in line with the table: multicast groups, and proxy entries in
    /// kernel-proxy mode (the kernel drops those when the link goes down). Safe to repeat.
    private func restoreKernelState(_ current: Armed) {
        let refused = current.membership.reconcile(with: ipv6Addresses)
        if !refused.isEmpty {
            logger.debug(
                "multicast joins refused for now; retrying", metadata: ["groups": "\(refused.keys.map(\.description))"])
        }
        guard ndpMode == .kernelProxy else { return }
        for address in ipv6Addresses {
            do { try ProxyNeighbours.add(address, interfaceIndex: current.interface.index) } catch {
                logger.warning(
                    "could not restore the proxy neighbour entry", metadata: ["ip": "\(address)", "error": "\(error)"])
            }
        }
    }

    public var announced: Set<IPAddress> { table.all }

    /// Called on the receive thread for every frame in which another MAC claims an announced address. Keep it
    /// short: it runs on the answer path.
    public func onClaim(_ handler: @escaping @Sendable (ForeignClaim) -> Void) {
        claimHandler.withLock { $0 = handler }
    }

    /// Whether frames sent on the interface reach the wire: it is up and its link has carrier.
    public var hasCarrier: Bool { carrier.withLock { $0 } }

    /// Called on the receive thread when the carrier is lost (false) or comes back (true), within about 100 ms
    /// of the kernel's link event.
    public func onCarrierChange(_ handler: @escaping @Sendable (Bool) -> Void) {
        carrierHandler.withLock { $0 = handler }
    }

    /// Records the carrier seen now; tells the handler and the log when it changed.
    private func observeCarrier(_ present: Bool) {
        let changed = carrier.withLock { seen in
            defer { seen = present }
            return seen != present
        }
        guard changed else { return }
        metrics.carrier.record(present ? 1 : 0)
        if present {
            logger.notice("carrier back on the interface")
        } else {
            logger.warning("no carrier on the interface; announcements here reach nobody")
        }
        carrierHandler.withLock { $0 }?(present)
    }

    /// Reports claims of `ips` too, and probes them, without answering for them: the node yielded them in a
    /// conflict and wants to know when their other owner is gone.
    public func watch(_ ips: Set<IPAddress>) {
        watched.withLock { $0 = ips }
    }

    /// Sends `ip`'s announcements again (the whole schedule), if it is still announced: to win the neighbours
    /// back after another MAC claimed it.
    public func reannounce(_ ip: IPAddress) {
        if table.contains(ip) { gained.yield(ip) }
    }

    /// Ends `run()` as a graceful shutdown would: stops answering and closes the socket and its thread (the
    /// interface is gone for good).
    public func stop() {
        stopped.withLock { $0 = true }
        gained.finish()
    }

    public func run() async throws {
        let reader = ReaderThread()
        // Named for top -H and /proc/PID/task/*/comm: one "rx-IFACE" thread per interface answered on.
        if let error = reader.start(named: "rx-\(interfaceName)", { [self] in receiveLoop(reader) }) {
            throw ResponderStartError(
                "cannot start the receive thread for \(interfaceName): \(SocketError("pthread_create", errno: error))")
        }
        await withDiscardingTaskGroup { group in
            if let conflictProbeInterval {
                group.addTask { await self.probeForConflicts(every: conflictProbeInterval) }
            }
            if let refreshInterval {
                group.addTask { await self.refreshAnnouncements(every: refreshInterval) }
            }
            for await ip in gains.cancelOnGracefulShutdown() {
                group.addTask { await self.sendAnnouncements(of: ip) }
            }
            group.cancelAll()
        }
        // Shutting down: stop answering before the socket goes, so nothing stale is said.
        for ip in table.all { withdraw(ip) }
        await reader.stop()
        if stopped.withLock({ $0 }) { metrics.destroy() }
    }

    private func sendAnnouncements(of ip: IPAddress) async {
        let clock = ContinuousClock()
        let start = clock.now
        for offset in schedule.offsets {
            do { try await clock.sleep(until: start + offset) } catch { return }
            guard table.contains(ip) else { return }
            let current = armed.withLock { $0 }
            current.membership.reconcile(with: ipv6Addresses)
            announceOnce(ip, on: current)
        }
    }

    /// Gratuitous ARP, or an unsolicited advertisement, for `ip` once (the caller has joined the groups).
    private func announceOnce(_ ip: IPAddress, on current: Armed) {
        for frame in current.policy.announcement(of: ip) {
            do {
                try current.socket.send(frame.bytes)
                metrics.gratuitousSent[ip.family]?.increment()
            } catch {
                metrics.sendErrors.increment()
                logger.warning("announcement failed", metadata: ["ip": "\(ip)", "error": "\(error)"])
            }
        }
    }

    /// Until cancelled: every interval, each owned address announced once more (the opt-in refresh; kube-vip
    /// does it every 3 s, keepalived with `garp_master_refresh`).
    private func refreshAnnouncements(every interval: Duration) async {
        await repeating(every: interval) { current in
            // Without carrier every send would fail and log; the carrier's return announces everything anyway.
            guard hasCarrier else { return }
            current.membership.reconcile(with: ipv6Addresses)
            for ip in table.all { announceOnce(ip, on: current) }
        }
    }

    /// Until cancelled: every interval, a probe for each announced or watched address, in both families.
    private func probeForConflicts(every interval: Duration) async {
        await repeating(every: interval) { current in
            for address in table.all.union(watched.withLock { $0 }) {
                do {
                    try current.socket.send(current.policy.conflictProbe(for: address).bytes)
                    metrics.probesSent.increment()
                } catch {
                    metrics.sendErrors.increment()
                }
            }
        }
    }

    /// Until cancelled: `body` on the armed socket every `interval`, on a fixed schedule (a late round does not
    /// push the later ones back); after a stall (a paused process) the schedule starts again from now rather
    /// than catching up in a burst.
    private func repeating(every interval: Duration, _ body: (Armed) -> Void) async {
        let clock = ContinuousClock()
        var next = clock.now + interval
        while !Task.isCancelled {
            do { try await clock.sleep(until: next) } catch { return }
            next = next + interval
            if next < clock.now { next = clock.now + interval }
            body(armed.withLock { $0 })
        }
    }

    /// Whether the packet socket answers for `ip`: not IPv6 addresses the kernel proxies.
    private func answersHere(_ ip: IPAddress) -> Bool {
        (ndpMode == .responder || ip.family == .v4) && table.contains(ip)
    }

    /// Whether another MAC's claim of `ip` is reported although the packet socket does not answer for it: an
    /// address yielded in a conflict, or an IPv6 address the kernel answers for (kernel-proxy mode), so that
    /// conflicts are found in that mode too.
    private func claimsWatchedHere(_ ip: IPAddress) -> Bool {
        watched.withLock { $0.contains(ip) } || (ip.family == .v6 && ndpMode == .kernelProxy && table.contains(ip))
    }

    /// Runs on the reader thread: receive, decide, answer.
    private func receiveLoop(_ reader: ReaderThread) {
        if namespace >= 0 && CLinuxNet_enter_network_namespace_fd(namespace) != 0 {
            logger.error("cannot enter the speaker's network namespace", metadata: ["errno": "\(errno)"])
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EthernetFrame.maximumLength + 1, alignment: 8)
        defer { buffer.deallocate() }
        // Link events while the link stays up: a MAC changed in place, or the carrier lost and regained.
        let events = try? LinkEvents()
        if events == nil {
            logger.warning("cannot follow link events (netlink); a lost carrier is seen only on a receive error")
        }
        // The carrier as it is now that events are followed: a change since init() would bring no event.
        if let now = try? InterfaceDirectory.named(interfaceName) { observeCarrier(now.isUp && now.hasCarrier) }
        var carrierChanges = armed.withLock { $0 }.interface.carrierChanges
        var framesSinceCheck = 0
        while !reader.shouldStop {
            // Off the answer path: when idle (at most every 100 ms) or every 64 frames on a busy link.
            if let events, framesSinceCheck >= 64 {
                framesSinceCheck = 0
                if events.wait(milliseconds: 0) { carrierChanges = followLinkChange(carrierChanges: carrierChanges) }
            }
            framesSinceCheck += 1
            let current = armed.withLock { $0 }
            let policy = current.policy
            let reception: PacketSocket.Reception?
            do { reception = try current.socket.receive(into: buffer) } catch {
                logger.warning("receive failed; waiting for the interface", metadata: ["error": "\(error)"])
                rearm(after: current, reader: reader, events: events)
                carrierChanges = armed.withLock { $0 }.interface.carrierChanges
                continue
            }
            guard let reception else {
                current.membership.reconcile(with: ipv6Addresses)  // idle: retry any join the kernel refused
                framesSinceCheck = 64
                continue
            }
            let bytes = ByteBuffer(
                bytes: UnsafeRawBufferPointer(rebasing: buffer[..<min(reception.length, buffer.count)]))
            let verdict = policy.verdict(
                for: bytes, hadVLANTag: reception.hadVLANTag, notForUs: reception.notForUs,
                owns: answersHere, watches: claimsWatchedHere)
            switch verdict {
            case .answer(let frame, let family):
                metrics.requestsReceived[family]?.increment()
                do {
                    try current.socket.send(frame.bytes)
                    metrics.responsesSent[family]?.increment()
                } catch {
                    metrics.sendErrors.increment()
                    logger.warning("answer failed", metadata: ["error": "\(error)"])
                }
            case .claim(let ip, let mac):
                metrics.claimsSeen[ip.family]?.increment()
                let handler = claimHandler.withLock { $0 }
                handler?(ForeignClaim(ip: ip, mac: mac, interface: interfaceName))
            case .drop(let reason, let family):
                if let family, reason == .notOwned { metrics.requestsReceived[family]?.increment() }
                metrics.dropped[reason]?.increment()
            }
        }
    }

    /// A link event while the socket works: re-arms on a new MAC or index, re-announces when the carrier has
    /// come back (the carrier-change counter moved and the link has carrier now). Returns the counter seen.
    private func followLinkChange(carrierChanges seen: UInt32) -> UInt32 {
        let current = armed.withLock { $0 }
        guard let now = try? InterfaceDirectory.named(interfaceName) else { return seen }
        observeCarrier(now.isUp && now.hasCarrier)
        guard now.isUp, now.hasCarrier else { return seen }
        if now.index != current.interface.index || now.mac != current.interface.mac {
            guard let fresh = try? Self.arm(interfaceName) else { return seen }
            armed.withLock { $0 = fresh }
            logger.notice(
                "interface address changed; responder re-armed",
                metadata: ["mac": "\(now.mac.map(\.description) ?? "-")"])
            restoreKernelState(fresh)
            for ip in table.all { gained.yield(ip) }
        } else if now.carrierChanges != seen {
            logger.notice("carrier back; re-announcing")
            restoreKernelState(current)
            for ip in table.all { gained.yield(ip) }
        }
        return now.carrierChanges
    }

    /// After a receive error (the link went down, or the interface went away): follows link events (libnl,
    /// RTNLGRP_LINK) until the interface is up again, opens a new socket if it is a new interface (index or
    /// MAC changed), and re-announces every address. Without an event socket it looks every 200 ms.
    private func rearm(after previous: Armed, reader: ReaderThread, events: LinkEvents?) {
        while !reader.shouldStop {
            if let events { _ = events.wait(milliseconds: 200) } else { usleep(200_000) }
            // Up and with carrier: frames sent before the carrier comes back are silently dropped.
            guard let now = try? InterfaceDirectory.named(interfaceName), now.isUp, now.hasCarrier else {
                observeCarrier(false)
                continue
            }
            if now.index != previous.interface.index || now.mac != previous.interface.mac {
                guard let fresh = try? Self.arm(interfaceName) else { continue }
                armed.withLock { $0 = fresh }
                logger.notice(
                    "interface re-created; responder re-armed",
                    metadata: ["index": "\(now.index)", "mac": "\(now.mac.map(\.description) ?? "-")"])
            } else {
                logger.notice("interface up again; responder resumed")
            }
            // After the swap, so an announce() racing with it lands on the new state; then again from the table.
            restoreKernelState(armed.withLock { $0 })
            for ip in table.all { gained.yield(ip) }
            observeCarrier(true)
            return
        }
    }
}

/// Why a speaker could not start on an interface.
public struct ResponderStartError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
