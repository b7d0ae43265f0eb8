public import BGPSession
import BGPWire
public import ElapsedTime
public import HeraldCore
public import Logging
public import NIOCore
import NIOPosix

/// What a running session reports, for status, Events and metrics.
public enum BGPPeerEvent: Hashable, Sendable {
    case established(BGPNegotiated)
    case down(BGPSessionDown)
}

/// A snapshot of one session for status and `explain`.
public struct BGPPeerStatus: Hashable, Sendable {
    public var name: String
    public var state: BGPSession<SystemRandomNumberGenerator>.State
    public var negotiated: BGPNegotiated?
    public var lastDown: BGPSessionDown?
    public var advertisedPrefixes: Int
    public var updatesSent: Int
    public var updatesReceived: Int
    public var keepalivesSent: Int
    public var establishedTransitions: Int
}

/// One session to one peer over TCP: the `BGPSession` state machine driven by a SwiftNIO connection and the
/// clock. One connection at a time, always opened from this side; the actor serialises the machine's events.
public actor BGPPeer {
    public nonisolated let endpoint: BGPPeerEndpoint
    /// Established and down transitions, in order, for whoever logs, counts and writes Events.
    public nonisolated let events: AsyncStream<BGPPeerEvent>

    private var session: BGPSession<SystemRandomNumberGenerator>
    private let group: any EventLoopGroup
    private let clock: ElapsedClock
    private let logger: Logger
    private let eventContinuation: AsyncStream<BGPPeerEvent>.Continuation

    /// Each connection attempt's number; events of an older one are stale and ignored.
    private var generation = 0
    private var channel: (any Channel)?
    private var lastWrite: EventLoopFuture<Void>?
    private var inbound = ByteBuffer()
    private var timer: Task<Void, Never>?
    private var timerDeadline: Duration?
    private var updatesSent = 0
    private var updatesReceived = 0
    private var keepalivesSent = 0
    private var establishedTransitions = 0

    public init(
        endpoint: BGPPeerEndpoint, session configuration: BGPSessionConfiguration, group: any EventLoopGroup,
        clock: ElapsedClock = .continuous, logger: Logger
    ) {
        self.endpoint = endpoint
        self.session = BGPSession(configuration: configuration, random: SystemRandomNumberGenerator())
        self.group = group
        self.clock = clock
        var logger = logger
        logger[metadataKey: "bgp-peer"] = "\(endpoint.name)"
        self.logger = logger
        (events, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    public var status: BGPPeerStatus {
        BGPPeerStatus(
            name: endpoint.name, state: session.state, negotiated: session.negotiated, lastDown: session.lastDown,
            advertisedPrefixes: session.rib.advertised.count, updatesSent: updatesSent,
            updatesReceived: updatesReceived, keepalivesSent: keepalivesSent,
            establishedTransitions: establishedTransitions)
    }

    /// Starts connecting; the session then keeps itself up until `stop`.
    public func start() {
        perform(session.start(now: clock.now()))
    }

    /// The routes this peer should hold; sent at once when established, and on every reconnect.
    public func setRoutes(_ routes: [IPNetwork: BGPRouteAttributes]) {
        perform(session.setRoutes(routes, now: clock.now()))
    }

    /// Withdraws every route, sends a Cease with `message`, closes, and returns once the bytes are written
    /// (or `limit` has passed). The session stays stopped.
    public func stop(message: String, limit: Duration = .seconds(5)) async {
        let written = lastWriteAfter(session.stop(now: clock.now(), reason: .administrativeShutdown, message: message))
        timer?.cancel()
        timer = nil
        eventContinuation.finish()
        if let written {
            _ = await withTimeLimit(limit, clock: clock) { try? await written.get() }
        }
    }

    // MARK: The machine's actions

    private func perform(_ actions: [BGPSession<SystemRandomNumberGenerator>.Action]) {
        _ = lastWriteAfter(actions)
    }

    /// Carries out `actions`; returns the future of the last write or close, if any.
    private func lastWriteAfter(_ actions: [BGPSession<SystemRandomNumberGenerator>.Action]) -> EventLoopFuture<Void>? {
        for action in actions {
            switch action {
            case .connect:
                connect()
            case .send(let messages):
                guard let channel else { continue }
                var bytes = channel.allocator.buffer(capacity: 64)
                for message in messages {
                    message.encode(into: &bytes, fourOctetAS: session.fourOctetAS)
                    if case .update = message { updatesSent += 1 }
                    if case .keepalive = message { keepalivesSent += 1 }
                }
                lastWrite = channel.writeAndFlush(bytes)
            case .disconnect:
                disconnect()
            case .established(let negotiated):
                establishedTransitions += 1
                logger.info(
                    "BGP session established",
                    metadata: [
                        "peer-as": "\(negotiated.peerAS)", "peer-router-id": "\(negotiated.peerRouterID)",
                        "hold-time": "\(negotiated.holdTime)", "families": "\(negotiated.families.map(\.description))",
                        "graceful-restart": "\(negotiated.gracefulRestart)",
                    ])
                eventContinuation.yield(.established(negotiated))
            case .down(let down):
                logger.warning("BGP session down", metadata: ["reason": "\(down.reason)"])
                eventContinuation.yield(.down(down))
            }
        }
        rearmTimer()
        return lastWrite
    }

    private func disconnect() {
        generation += 1
        guard let channel else { return }
        self.channel = nil
        inbound.clear()
        // Close after what was written: a NOTIFICATION or the withdrawals of a shutdown must reach the peer.
        let closed = (lastWrite ?? channel.eventLoop.makeSucceededVoidFuture()).flatMapError { _ in
            channel.eventLoop.makeSucceededVoidFuture()
        }.flatMap { channel.close() }.flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
        lastWrite = closed
    }

    private func rearmTimer() {
        let deadline = session.nextDeadline
        guard deadline != timerDeadline else { return }
        timer?.cancel()
        timerDeadline = deadline
        guard let deadline else {
            timer = nil
            return
        }
        let clock = clock
        timer = Task { [weak self] in
            guard (try? await clock.sleep(until: deadline)) != nil else { return }
            await self?.timerFired()
        }
    }

    private func timerFired() {
        timerDeadline = nil
        perform(session.advance(to: clock.now()))
    }

    // MARK: The connection

    private func connect() {
        generation += 1
        let attempt = generation
        let endpoint = endpoint
        let (chunks, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let loop = group.next()
        let connectTimeout = TimeAmount(session.configuration.connectRetryTime)
        // The socket is made on the event loop's thread, so a group whose threads run in a network namespace
        // connects from there (the lab tests run a peer in-process that way).
        let connecting = loop.flatSubmit {
            var bootstrap = ClientBootstrap(group: loop)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    BGPSocketOptions.apply(to: channel, endpoint: endpoint).flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(BGPStreamHandler(continuation: continuation))
                    }
                }
            do {
                if let source = endpoint.sourceAddress {
                    bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source.description, port: 0))
                }
                return bootstrap.connect(
                    to: try SocketAddress(ipAddress: endpoint.peerAddress.description, port: endpoint.peerPort))
            } catch {
                return loop.makeFailedFuture(error)
            }
        }
        Task { [weak self] in
            do {
                let channel = try await connecting.get()
                await self?.connected(attempt, channel: channel)
                for await chunk in chunks { await self?.received(attempt, chunk) }
                await self?.closed(attempt)
            } catch {
                continuation.finish()
                await self?.connectFailed(attempt, error: error)
            }
        }
    }

    private func connected(_ attempt: Int, channel: any Channel) {
        guard attempt == generation, let local = IPAddress(channel.localAddress) else {
            channel.close(promise: nil)
            return
        }
        self.channel = channel
        inbound.clear()
        logger.debug("BGP connection up", metadata: ["local": "\(local)"])
        perform(session.connected(localAddress: local, now: clock.now()))
    }

    private func connectFailed(_ attempt: Int, error: any Error) {
        guard attempt == generation else { return }
        perform(session.connectionFailed(now: clock.now(), reason: "\(error)"))
    }

    private func closed(_ attempt: Int) {
        guard attempt == generation else { return }
        channel = nil
        perform(session.connectionClosed(now: clock.now()))
    }

    private func received(_ attempt: Int, _ chunk: ByteBuffer) {
        guard attempt == generation else { return }
        var chunk = chunk
        inbound.writeBuffer(&chunk)
        while attempt == generation {
            let message: BGPMessage?
            do {
                message = try BGPMessage.decode(from: &inbound, fourOctetAS: session.fourOctetAS)
            } catch {
                logger.warning("malformed BGP message", metadata: ["error": "\(error)"])
                perform(session.receivedMalformed(error, now: clock.now()))
                return
            }
            guard let message else { break }
            if case .update = message { updatesReceived += 1 }
            perform(session.received(message, now: clock.now()))
        }
        inbound.discardReadBytes()
    }
}

/// Hands the connection's bytes, in order, to the peer's stream; finishes it when the connection closes.
final class BGPStreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let continuation: AsyncStream<ByteBuffer>.Continuation

    init(continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
