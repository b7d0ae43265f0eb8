public import Gossip
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// One member of the gossip cluster on a real network: drives the `Membership` state machine with the
/// monotonic clock, system randomness and a `GossipTransport`, seals and opens every packet with the keyring,
/// and publishes membership changes as an `AsyncStream`. A swift-service-lifecycle `Service`: on graceful
/// shutdown it leaves the cluster (peers drop it at once) before closing its sockets.
public actor GossipNode: Service {
    public struct Options: Sendable {
        /// The member's unique name (the Kubernetes node name).
        public var name: String
        /// The address peers reach this member at; by default the transport's own.
        public var advertiseAddress: GossipAddress?
        public var metadata: [String: String]
        public var seeds: [GossipAddress]
        public var configuration: GossipConfiguration
        /// nil only with `--insecure-gossip`: packets are then sent and accepted in plaintext.
        public var keyring: Keyring?
        /// The longest the state machine's timers go unchecked; they are also checked at each deadline.
        public var tickInterval: Duration
        /// Running later than this past its own wake-up counts as a pause of the process (CPU starvation, a
        /// stopped container): the state machine's timeouts are moved on by the pause (`Membership.resume`).
        public var pauseTolerance: Duration

        public init(name: String, advertiseAddress: GossipAddress? = nil, metadata: [String: String] = [:],
                    seeds: [GossipAddress] = [], configuration: GossipConfiguration = .lanFast, keyring: Keyring?,
                    tickInterval: Duration = .milliseconds(25), pauseTolerance: Duration = .milliseconds(10)) {
            self.name = name
            self.advertiseAddress = advertiseAddress
            self.metadata = metadata
            self.seeds = seeds
            self.configuration = configuration
            self.keyring = keyring
            self.tickInterval = tickInterval
            self.pauseTolerance = pauseTolerance
        }
    }

    /// memberlist's UDP buffer size: a datagram that fits an Ethernet frame with room for tunnel headers.
    static let maxDatagramSize = 1400

    public nonisolated let changes: AsyncStream<Member>
    private let changesContinuation: AsyncStream<Member>.Continuation
    /// Packets the state machine wants sent, drained by `sendLoop` so the actor never waits on a socket.
    typealias OutboundPacket = (bytes: [UInt8], to: GossipAddress, stream: Bool)
    private nonisolated let outbound: AsyncStream<OutboundPacket>
    private let outboundContinuation: AsyncStream<OutboundPacket>.Continuation
    private let options: Options
    private let transport: any GossipTransport
    private let logger: Logger
    private let metrics: GossipMetrics
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var membership: Membership<SystemRandomNumberGenerator>
    /// Every member as of the last change, readable without awaiting the actor (an HTTP handler on an event loop).
    private nonisolated let published: Mutex<[Member]>
    private var random = SystemRandomNumberGenerator()
    /// When the tick loop meant to run next; running much later than that is a pause (`noticePause`).
    private var wakeTarget: Duration = .zero
    private var nextPauseWarningAt: Duration = .zero
    private var nextJoinAt: Duration = .zero
    private var joinBackoff: Duration = .milliseconds(500)
    /// Where to join through; starts as `options.seeds`, replaced by `setSeeds` (peer discovery).
    private var seeds: [GossipAddress]

    public init(options: Options, transport: any GossipTransport, logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.options = options
        self.transport = transport
        self.logger = logger
        metrics = GossipMetrics(factory: metricsFactory)
        seeds = options.seeds
        start = clock.now
        let me = Member(name: options.name, address: (options.advertiseAddress ?? transport.localAddress).description,
                        metadata: options.metadata)
        membership = Membership(me: me, configuration: options.configuration, random: SystemRandomNumberGenerator(), now: .zero)
        published = Mutex([membership.me])
        (changes, changesContinuation) = AsyncStream.makeStream(of: Member.self, bufferingPolicy: .bufferingNewest(4096))
        (outbound, outboundContinuation) = AsyncStream.makeStream(of: OutboundPacket.self,
                                                                  bufferingPolicy: .bufferingNewest(4096))
    }

    /// Every member known, itself included.
    public var members: [Member] { membership.members }
    /// The members as of the last membership change, without waiting for the actor.
    public nonisolated var publishedMembers: [Member] { published.withLock { $0 } }
    /// Alive and suspect members, itself included.
    public var liveMembers: [Member] { membership.liveMembers }
    public var me: Member { membership.me }

    /// New metadata for this member, told to the others with a new incarnation.
    public func setMetadata(_ metadata: [String: String]) {
        membership.setMetadata(metadata)
    }

    /// Replaces the addresses to join through (found peers). A member still alone tries the new ones at once.
    public func setSeeds(_ newSeeds: [GossipAddress]) {
        guard newSeeds != seeds else { return }
        seeds = newSeeds
        nextJoinAt = .zero
        joinBackoff = .milliseconds(500)
    }

    public func run() async throws {
        logger.notice("gossip started", metadata: [
            "member": "\(membership.me.name)", "address": "\(membership.me.address)", "seeds": "\(seeds)",
            "encrypted": "\(options.keyring != nil)",
        ])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receive() }
            await withDiscardingTaskGroup { senders in
                senders.addTask { await self.sendLoop() }
                do {
                    try await cancelWhenGracefulShutdown { try await self.tickLoop() }
                } catch {}
                await leave()
                outboundContinuation.finish()
            }
            // Every packet handed to the transport has been sent (or failed); now the sockets can go.
            await transport.close()
        }
        changesContinuation.finish()
        logger.notice("gossip stopped", metadata: ["member": "\(options.name)"])
    }

    // MARK: Loops

    /// Ticks the state machine when its next deadline comes, and at least every `tickInterval` (a message
    /// received in between can bring a deadline forward; `handle` ticks at once for those already due).
    /// Idle, a member wakes about 40 times a second instead of 200.
    private func tickLoop() async throws {
        wakeTarget = clock.now - start
        while true {
            let now = clock.now - start
            noticePause(now: now)
            joinIfAlone(now: now)
            perform(membership.tick(now: now))
            wakeTarget = max(min(membership.nextDeadline, now + options.tickInterval), now + .milliseconds(1))
            try await clock.sleep(until: start + wakeTarget)
        }
    }

    /// This member ran well after its tick loop meant to wake (the tick loop or a received packet, whichever came
    /// first): the process was paused. The time away must not count against the others, or acks and refutations
    /// still unread in the socket would be too late for timeouts that ran out while nothing ran.
    private func noticePause(now: Duration) {
        let pause = now - wakeTarget
        guard pause > options.pauseTolerance else { return }
        wakeTarget = now
        membership.resume(afterPause: pause)
        metrics.paused(pause)
        guard now >= nextPauseWarningAt, pause >= options.configuration.probeTimeout else { return }
        nextPauseWarningAt = now + .seconds(10)
        logger.warning("this member did not run for a while (CPU starvation or a stopped process); its timeouts were extended by that much", metadata: [
            "pause": "\(Int(pause.milliseconds)) ms", "awareness": "\(membership.awareness)",
        ])
    }

    private nonisolated func sendLoop() async {
        let (transport, metrics, logger) = (self.transport, self.metrics, self.logger)
        await withDiscardingTaskGroup { group in
            for await packet in outbound {
                group.addTask {
                    do {
                        try await transport.send(packet.bytes, to: packet.to, stream: packet.stream)
                    } catch {
                        metrics.sendFailures.increment()
                        logger.debug("send failed", metadata: ["to": "\(packet.to)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    private func receive() async {
        for await packet in transport.packets {
            handle(packet)
        }
    }

    private func handle(_ packet: ReceivedPacket) {
        metrics.received(bytes: packet.bytes.count, stream: packet.stream)
        var plaintext = packet.bytes
        if let keyring = options.keyring {
            do {
                plaintext = try keyring.open(packet.bytes)
            } catch {
                metrics.authenticationFailures.increment()
                logger.debug("dropped a packet that fails authentication", metadata: ["source": "\(packet.source)", "error": "\(error)"])
                return
            }
        }
        let envelope: Envelope
        do {
            envelope = try GossipCodec.decode(plaintext)
        } catch {
            metrics.decodeFailures.increment()
            logger.debug("dropped a malformed packet", metadata: ["source": "\(packet.source)", "error": "\(error)"])
            return
        }
        let now = clock.now - start
        noticePause(now: now)
        perform(membership.receive(envelope, now: now))
        if membership.nextDeadline <= now { perform(membership.tick(now: now)) }
    }

    // MARK: Joining and leaving

    /// Until some other member is known, (re)sends the join to the seeds with a backoff up to 30 s: a speaker
    /// that starts before its peers finds them when they come.
    private func joinIfAlone(now: Duration) {
        guard !seeds.isEmpty, now >= nextJoinAt else { return }
        guard membership.members.count == 1 else { return }
        if nextJoinAt > .zero {
            logger.info("no member answered yet; joining again", metadata: ["seeds": "\(seeds)"])
        }
        nextJoinAt = now + joinBackoff
        joinBackoff = min(joinBackoff * 2, .seconds(30))
        perform(membership.join(seeds: seeds.map(\.description)))
    }

    /// Tells every live member, over streams and waiting for them (at most a second), so they drop this member
    /// at once instead of suspecting it.
    private func leave() async {
        let actions = membership.leave()
        logger.notice("leaving the gossip cluster", metadata: ["peers": "\(actions.count)"])
        let packets: [(bytes: [UInt8], to: GossipAddress)] = actions.compactMap { action in
            guard case .send(let message, let to) = action, let address = try? GossipAddress(parsing: to) else { return nil }
            return (seal(message), address)
        }
        let transport = self.transport
        await withTaskGroup(of: Void.self) { group in
            for packet in packets {
                group.addTask {
                    try? await withTimeout(.seconds(1)) { try await transport.send(packet.bytes, to: packet.to, stream: true) }
                }
            }
        }
    }

    // MARK: Actions

    private func perform(_ actions: [Membership<SystemRandomNumberGenerator>.Action]) {
        for action in actions {
            switch action {
            case .changed(let member):
                let members = membership.members
                published.withLock { $0 = members }
                metrics.changed(to: member.status)
                metrics.members.record(membership.liveCount)
                logger.info("member \(member.status)", metadata: [
                    "member": "\(member.name)", "address": "\(member.address)", "incarnation": "\(member.incarnation)",
                ])
                changesContinuation.yield(member)
            case .send(let message, let to):
                guard let address = try? GossipAddress(parsing: to) else {
                    logger.warning("a member advertises an address that is not IP:port; not sent", metadata: ["address": "\(to)"])
                    continue
                }
                let bytes = seal(message)
                // Full state goes on a stream (it can be large, and join and leave must arrive); the rest on
                // datagrams, unless a member's metadata made one too large to send without IP fragmentation.
                let isState = if case .state = message { true } else { false }
                let stream = isState || bytes.count > Self.maxDatagramSize
                metrics.sent(bytes: bytes.count, stream: stream)
                outboundContinuation.yield((bytes, address, stream))
            }
        }
    }

    private func seal(_ message: GossipMessage) -> [UInt8] {
        let bytes = GossipCodec.encode(Envelope(from: membership.me.name, fromAddress: membership.me.address, message: message))
        guard let keyring = options.keyring else { return bytes }
        let nonce = (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        // Sealing fails only for a nonce that is not 12 bytes, which this is.
        return (try? keyring.seal(bytes, nonce: nonce)) ?? []
    }
}

/// Runs `body`, cancelling it after `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
