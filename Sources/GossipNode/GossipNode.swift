public import ElapsedTime
public import Gossip
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// One member of the gossip cluster on a real network: runs the pure `GossipDriver` (sealing, decoding,
/// rejoining, pause detection around the `Membership` state machine) on a clock, with system randomness, over
/// a `GossipTransport`, and publishes membership changes as an `AsyncStream`.
/// A swift-service-lifecycle `Service`: on graceful
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

        public init(
            name: String, advertiseAddress: GossipAddress? = nil, metadata: [String: String] = [:],
            seeds: [GossipAddress] = [], configuration: GossipConfiguration = .lanFast, keyring: Keyring?,
            tickInterval: Duration = .milliseconds(25), pauseTolerance: Duration = .milliseconds(10)
        ) {
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
    private let clock: ElapsedClock
    private var driver: GossipDriver<SystemRandomNumberGenerator>
    /// Every member as of the last change, readable without awaiting the actor (an HTTP handler on an event loop).
    private nonisolated let published: Mutex<[Member]>

    public init(
        options: Options, transport: any GossipTransport, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory, clock: ElapsedClock = .continuous
    ) {
        self.options = options
        self.transport = transport
        self.logger = logger
        self.clock = clock
        metrics = GossipMetrics(factory: metricsFactory)
        let me = Member(
            name: options.name, address: (options.advertiseAddress ?? transport.localAddress).description,
            metadata: options.metadata)
        driver = GossipDriver(
            me: me, configuration: options.configuration,
            options: .init(
                keyring: options.keyring, seeds: options.seeds.map(\.description),
                tickInterval: options.tickInterval, pauseTolerance: options.pauseTolerance),
            random: SystemRandomNumberGenerator(), nonces: SystemRandomNumberGenerator(), now: clock.now())
        published = Mutex([me])
        (changes, changesContinuation) = AsyncStream.makeStream(
            of: Member.self, bufferingPolicy: .bufferingNewest(4096))
        (outbound, outboundContinuation) = AsyncStream.makeStream(
            of: OutboundPacket.self,
            bufferingPolicy: .bufferingNewest(4096))
    }

    /// Every member known, itself included.
    public var members: [Member] { driver.membership.members }
    /// The members as of the last membership change, without waiting for the actor.
    public nonisolated var publishedMembers: [Member] { published.withLock { $0 } }
    /// Alive and suspect members, itself included.
    public var liveMembers: [Member] { driver.membership.liveMembers }
    public var me: Member { driver.membership.me }

    /// New metadata for this member, told to the others with a new incarnation.
    public func setMetadata(_ metadata: [String: String]) {
        driver.setMetadata(metadata)
        // Its own entry in `/membership` too: no `.changed` comes for this node itself.
        let members = driver.membership.members
        published.withLock { $0 = members }
    }

    /// Replaces the addresses to join through (found peers). A member still alone tries the new ones at once.
    public func setSeeds(_ seeds: [GossipAddress]) {
        driver.setSeeds(seeds.map(\.description))
    }

    public func run() async throws {
        logger.notice(
            "gossip started",
            metadata: [
                "member": "\(me.name)", "address": "\(me.address)", "seeds": "\(driver.options.seeds)",
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

    /// Ticks the driver when it asks (its next deadline, and at least every `tickInterval`: a message received
    /// in between can bring a deadline forward, and `receive` ticks at once for those already due). Idle, a
    /// member wakes about 40 times a second.
    private func tickLoop() async throws {
        driver.start(now: clock.now())
        while true {
            perform(driver.tick(now: clock.now()))
            try await clock.sleep(until: driver.nextWake)
        }
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
        perform(driver.receive(packet.bytes, now: clock.now()), source: packet.source)
    }

    // MARK: Leaving

    /// Tells every live member, over streams and waiting for them (at most a second), so they drop this member
    /// at once instead of suspecting it.
    private func leave() async {
        let outputs = driver.leave()
        logger.notice("leaving the gossip cluster", metadata: ["peers": "\(outputs.count)"])
        let packets: [(bytes: [UInt8], to: GossipAddress)] = outputs.compactMap { output in
            guard case .send(let bytes, let to, _) = output, let address = try? GossipAddress(parsing: to) else {
                return nil
            }
            return (bytes, address)
        }
        let transport = self.transport
        await withTaskGroup(of: Void.self) { group in
            for packet in packets {
                group.addTask {
                    _ = await withTimeLimit(.seconds(1)) {
                        try? await transport.send(packet.bytes, to: packet.to, stream: true)
                    }
                }
            }
        }
    }

    // MARK: Outputs

    private func perform(_ outputs: [GossipDriver<SystemRandomNumberGenerator>.Output], source: String? = nil) {
        // The members before this batch: each change in it is told apart from its own state before, not from
        // the state after an earlier change of the same batch (a merge brings many).
        var previous: [String: Member]?
        for output in outputs {
            switch output {
            case .changed(let member):
                let members = driver.membership.members
                if previous == nil {
                    previous = Dictionary(
                        published.withLock { $0 }.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
                }
                published.withLock { $0 = members }
                if let before = previous?[member.name], before.status == member.status, before.address == member.address
                {
                    // Its metadata alone: not a membership change to count or to log above debug.
                    logger.debug(
                        "member metadata changed",
                        metadata: ["member": "\(member.name)", "metadata": "\(member.metadata)"])
                } else {
                    metrics.changed(to: member.status)
                    metrics.members.record(driver.membership.liveCount)
                    logger.info(
                        "member \(member.status)",
                        metadata: [
                            "member": "\(member.name)", "address": "\(member.address)",
                            "incarnation": "\(member.incarnation)",
                        ])
                }
                changesContinuation.yield(member)
            case .send(let bytes, let to, let stream):
                guard let address = try? GossipAddress(parsing: to) else {
                    logger.warning(
                        "a member advertises an address that is not IP:port; not sent", metadata: ["address": "\(to)"])
                    continue
                }
                metrics.sent(bytes: bytes.count, stream: stream)
                outboundContinuation.yield((bytes, address, stream))
            case .rejected(.authentication, let error):
                metrics.authenticationFailures.increment()
                logger.debug(
                    "dropped a packet that fails authentication",
                    metadata: ["source": "\(source ?? "-")", "error": "\(error)"])
            case .rejected(.malformed, let error):
                metrics.decodeFailures.increment()
                logger.debug(
                    "dropped a malformed packet", metadata: ["source": "\(source ?? "-")", "error": "\(error)"])
            case .paused(let pause, let warn):
                metrics.paused(pause)
                guard warn else { continue }
                logger.warning(
                    """
                    this member did not run for a while (CPU starvation or a stopped process); \
                    its timeouts were extended by that much
                    """,
                    metadata: ["pause": "\(Int(pause.milliseconds)) ms", "awareness": "\(driver.membership.awareness)"])
            case .rejoining(let seeds):
                logger.info("no member answered yet; joining again", metadata: ["seeds": "\(seeds)"])
            }
        }
    }
}
