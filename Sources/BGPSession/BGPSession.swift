public import BGPWire
public import HeraldCore

/// One BGP session to one peer as a pure state machine (RFC 4271 §8): events and `now` in, actions out. The
/// driver owns the TCP connection, the clock and the bytes; this decides what is sent, when the timers fire,
/// what the OPENs agree on, and which UPDATEs keep the peer's view equal to `routes`.
///
/// Herald always connects out (as MetalLB's speaker does), so a session has one connection and no collision
/// to resolve; `BGPCollision` decides the case for a driver that also accepts connections.
public struct BGPSession<Random: RandomNumberGenerator & Sendable>: Sendable {
    public enum State: String, Hashable, Sendable, CustomStringConvertible {
        /// Not started, or stopped.
        case idle
        /// Waiting for the TCP connection.
        case connect
        /// Waiting to try again after a failure.
        case active
        case openSent
        case openConfirm
        case established

        public var description: String { rawValue }
    }

    public enum Action: Hashable, Sendable {
        /// Open the TCP connection and report `connected` or `connectionFailed`.
        case connect
        /// Write these messages, in order.
        case send([BGPMessage])
        /// Close the TCP connection (after writing what was sent before).
        case disconnect
        case established(BGPNegotiated)
        /// The session left OpenSent or later: why, and whether it had been established.
        case down(BGPSessionDown)
    }

    /// The RFC 4271 §8.2.2 suggestion for the hold timer while the peer's OPEN is awaited.
    public static var openHoldTime: Duration { .seconds(240) }
    /// A session up this long has its backoff forgotten.
    public static var stableTime: Duration { .seconds(60) }

    public let configuration: BGPSessionConfiguration
    public private(set) var state: State = .idle
    public private(set) var negotiated: BGPNegotiated?
    public private(set) var rib = BGPAdjRIBOut()
    /// Why the session last went down, for status and `explain`.
    public private(set) var lastDown: BGPSessionDown?
    public private(set) var establishedSince: Duration?

    private var random: Random
    private var localAddress: IPAddress?
    private var connectRetryAt: Duration?
    private var holdDeadline: Duration?
    private var keepaliveAt: Duration?
    private var failures = 0
    private var hasBeenEstablished = false

    public init(configuration: BGPSessionConfiguration, random: Random) {
        self.configuration = configuration
        self.random = random
    }

    /// Whether AS numbers on this session's UPDATEs take 4 octets (what the decoder must be told).
    public var fourOctetAS: Bool { negotiated?.fourOctetAS ?? true }

    /// When `advance` next has something to do.
    public var nextDeadline: Duration? {
        [connectRetryAt, holdDeadline, keepaliveAt].compactMap { $0 }.min()
    }

    // MARK: Events

    /// Starts connecting (RFC 4271's ManualStart).
    public mutating func start(now: Duration) -> [Action] {
        guard state == .idle else { return [] }
        return beginConnect(now: now)
    }

    /// Stops for good (ManualStop): an established session first withdraws every route, so the peer moves
    /// traffic elsewhere before it learns the session is gone, then closes with a Cease.
    public mutating func stop(now: Duration, reason: BGPNotification.CeaseReason, message: String? = nil) -> [Action] {
        var actions: [Action] = []
        var messages: [BGPMessage] = []
        if state == .established { messages += rib.withdrawAll().map(BGPMessage.update) }
        let cease = BGPNotification.cease(reason, message: message)
        if [.openSent, .openConfirm, .established].contains(state) { messages.append(.notification(cease)) }
        if !messages.isEmpty { actions.append(.send(messages)) }
        if state != .idle && state != .active { actions.append(.disconnect) }
        if [.openSent, .openConfirm, .established].contains(state) {
            actions.append(.down(record(reason: "stopped: \(message ?? "\(reason)")", sent: cease, received: nil)))
        }
        rib.sessionLost()
        clear()
        state = .idle
        return actions
    }

    public mutating func connected(localAddress: IPAddress, now: Duration) -> [Action] {
        guard state == .connect else { return [.disconnect] }
        self.localAddress = localAddress
        state = .openSent
        connectRetryAt = nil
        holdDeadline = now + Self.openHoldTime
        return [.send([.open(ownOpen())])]
    }

    public mutating func connectionFailed(now: Duration, reason: String) -> [Action] {
        guard state == .connect else { return [] }
        return retryLater(now: now, reason: "connection failed: \(reason)")
    }

    /// The TCP connection closed without a NOTIFICATION.
    public mutating func connectionClosed(now: Duration) -> [Action] {
        guard [.openSent, .openConfirm, .established].contains(state) else { return [] }
        return tearDown(now: now, reason: "the peer closed the connection", sent: nil, received: nil)
    }

    /// Bytes that did not decode: the NOTIFICATION the decoder chose, then close.
    public mutating func receivedMalformed(_ error: BGPMessageError, now: Duration) -> [Action] {
        guard [.openSent, .openConfirm, .established].contains(state) else { return [] }
        return fail(error.notification, reason: "malformed message from the peer: \(error.detail)", now: now)
    }

    public mutating func received(_ message: BGPMessage, now: Duration) -> [Action] {
        switch (state, message) {
        case (.openSent, .open(let open)):
            return receivedOpen(open, now: now)
        case (.openSent, .notification(let notification)), (.openConfirm, .notification(let notification)),
            (.established, .notification(let notification)):
            return [.disconnect]
                + tearDown(now: now, reason: "the peer sent \(notification)", sent: nil, received: notification)
        case (.openConfirm, .keepalive):
            return becomeEstablished(now: now)
        case (.established, .keepalive), (.established, .update):
            restartHoldTimer(now: now)
            return []
        case (.established, .routeRefresh(let request)):
            restartHoldTimer(now: now)
            guard let negotiated, negotiated.families.contains(request.family) else { return [] }
            let updates = rib.refresh(request.family, session: negotiated, localAS: configuration.localAS)
            return updates.isEmpty ? [] : send(updates.map(BGPMessage.update), now: now)
        case (.openSent, _):
            return fail(.finiteStateMachine(.unexpectedMessageInOpenSent), reason: "\(message) before OPEN", now: now)
        case (.openConfirm, _):
            return fail(
                .finiteStateMachine(.unexpectedMessageInOpenConfirm), reason: "\(message) in OpenConfirm", now: now)
        case (.established, _):
            return fail(
                .finiteStateMachine(.unexpectedMessageInEstablished), reason: "\(message) when established", now: now)
        case (.idle, _), (.connect, _), (.active, _):
            return []
        }
    }

    /// Sets the routes this peer should hold; an established session sends the difference at once.
    public mutating func setRoutes(_ routes: [IPNetwork: BGPRouteAttributes], now: Duration) -> [Action] {
        rib.setDesired(routes)
        guard state == .established, let negotiated else { return [] }
        let updates = rib.updates(for: negotiated, localAS: configuration.localAS)
        return updates.isEmpty ? [] : send(updates.map(BGPMessage.update), now: now)
    }

    /// Runs the timers that are due: connection attempts and retries, the hold timer, keepalives.
    public mutating func advance(to now: Duration) -> [Action] {
        if let holdDeadline, holdDeadline <= now {
            return fail(
                .holdTimerExpired, reason: "no message from the peer within the hold time (\(holdTimeText))", now: now)
        }
        if let connectRetryAt, connectRetryAt <= now {
            switch state {
            case .connect:
                return [.disconnect] + retryLater(now: now, reason: "connection attempt timed out")
            case .active:
                return beginConnect(now: now)
            default:
                self.connectRetryAt = nil
            }
        }
        if let keepaliveAt, keepaliveAt <= now, state == .openConfirm || state == .established {
            return send([.keepalive], now: now)
        }
        return []
    }

    // MARK: Transitions

    private mutating func beginConnect(now: Duration) -> [Action] {
        state = .connect
        connectRetryAt = now + configuration.connectRetryTime
        return [.connect]
    }

    private func ownOpen() -> BGPOpen {
        var capabilities = configuration.families.map(BGPCapability.multiprotocol)
        capabilities.append(.routeRefresh)
        if configuration.gracefulRestart {
            capabilities.append(
                .gracefulRestart(
                    BGPGracefulRestart(
                        restarting: !hasBeenEstablished, restartTime: min(configuration.gracefulRestartTime, 4095),
                        families: configuration.families.map { .init(family: $0, forwardingPreserved: true) })))
        }
        return BGPOpen(
            autonomousSystem: configuration.localAS, holdTime: configuration.holdTime,
            identifier: configuration.routerID, capabilities: capabilities)
    }

    private mutating func receivedOpen(_ open: BGPOpen, now: Duration) -> [Action] {
        let peerAS = open.autonomousSystem
        let asMatches =
            switch configuration.peerAS {
            case .number(let expected): peerAS == expected
            case .internal: peerAS == configuration.localAS
            case .external: peerAS != configuration.localAS
            }
        guard asMatches else {
            return fail(
                .openMessage(
                    .badPeerAS, data: [UInt8(open.myAutonomousSystem >> 8), UInt8(open.myAutonomousSystem & 0xFF)]),
                reason: "the peer's AS is \(peerAS), configured \(configuration.peerAS)", now: now)
        }
        guard open.holdTime == 0 || open.holdTime >= 3 else {
            return fail(
                .openMessage(.unacceptableHoldTime), reason: "the peer's hold time is \(open.holdTime)s", now: now)
        }
        let isInternal = peerAS == configuration.localAS
        guard !(isInternal && open.identifier == configuration.routerID) else {
            return fail(
                .openMessage(.badBGPIdentifier), reason: "the peer's router ID \(open.identifier) is ours", now: now)
        }
        let holdTime = min(open.holdTime, configuration.holdTime)
        var keepalive: Duration?
        if holdTime > 0 {
            let third = Duration.milliseconds(Int(holdTime) * 1000 / 3)
            keepalive = min(configuration.keepaliveTime.map { .seconds(Int($0)) } ?? third, third)
        }
        var nextHops = configuration.otherNextHops
        if let localAddress { nextHops[localAddress.family] = localAddress }
        let offered = Set(open.families)
        negotiated = BGPNegotiated(
            peerAS: peerAS, peerRouterID: open.identifier, holdTime: holdTime, keepaliveInterval: keepalive,
            families: configuration.families.filter(offered.contains), fourOctetAS: open.fourOctetAS != nil,
            routeRefresh: open.supportsRouteRefresh,
            gracefulRestart: configuration.gracefulRestart && open.gracefulRestart != nil, isInternal: isInternal,
            nextHops: nextHops)
        state = .openConfirm
        holdDeadline = holdTime == 0 ? nil : now + .seconds(Int(holdTime))
        return send([.keepalive], now: now)
    }

    private mutating func becomeEstablished(now: Duration) -> [Action] {
        guard let negotiated else { return [] }
        state = .established
        establishedSince = now
        hasBeenEstablished = true
        restartHoldTimer(now: now)
        // Everything the peer should hold, then End-of-RIB per family: a graceful-restart helper drops the
        // routes it kept that this session did not announce again.
        rib.sessionLost()
        var messages = rib.updates(for: negotiated, localAS: configuration.localAS).map(BGPMessage.update)
        messages += negotiated.families.map { .update(.endOfRIB($0)) }
        return [.established(negotiated)] + send(messages, now: now)
    }

    private mutating func send(_ messages: [BGPMessage], now: Duration) -> [Action] {
        if let interval = negotiated?.keepaliveInterval { keepaliveAt = now + interval }
        return [.send(messages)]
    }

    private mutating func restartHoldTimer(now: Duration) {
        if let negotiated, negotiated.holdTime > 0 { holdDeadline = now + .seconds(Int(negotiated.holdTime)) }
    }

    /// An error of ours to report: NOTIFICATION, close, and try again later.
    private mutating func fail(_ notification: BGPNotification, reason: String, now: Duration) -> [Action] {
        [.send([.notification(notification)]), .disconnect]
            + tearDown(now: now, reason: reason, sent: notification, received: nil)
    }

    private mutating func tearDown(
        now: Duration, reason: String, sent: BGPNotification?, received: BGPNotification?
    ) -> [Action] {
        let down = record(reason: reason, sent: sent, received: received)
        if let since = establishedSince, now - since >= Self.stableTime { failures = 0 }
        return [.down(down)] + retryLater(now: now, reason: nil)
    }

    private mutating func record(reason: String, sent: BGPNotification?, received: BGPNotification?) -> BGPSessionDown {
        let down = BGPSessionDown(
            reason: reason, notificationSent: sent, notificationReceived: received,
            wasEstablished: state == .established)
        lastDown = down
        return down
    }

    /// Schedules the next attempt with exponential backoff and jitter (RFC 4271 §10: 0.75 to 1 times the delay).
    private mutating func retryLater(now: Duration, reason: String?) -> [Action] {
        if let reason {
            lastDown = BGPSessionDown(
                reason: reason, notificationSent: nil, notificationReceived: nil, wasEstablished: false)
        }
        rib.sessionLost()
        clear()
        failures += 1
        let base = configuration.connectRetryTime
        var delay = base
        for _ in 1..<min(failures, 16) where delay < configuration.maximumRetryTime { delay = delay * 2 }
        delay = min(delay, max(configuration.maximumRetryTime, base))
        let jitter = Double.random(in: 0.75...1.0, using: &random)
        state = .active
        connectRetryAt = now + delay * jitter
        return []
    }

    private mutating func clear() {
        negotiated = nil
        localAddress = nil
        holdDeadline = nil
        keepaliveAt = nil
        connectRetryAt = nil
        establishedSince = nil
    }

    private var holdTimeText: String {
        if let negotiated {
            "\(negotiated.holdTime)s"
        } else {
            "\(Int(Self.openHoldTime.components.seconds))s for OPEN"
        }
    }
}

/// Why a session went down.
public struct BGPSessionDown: Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var notificationSent: BGPNotification?
    public var notificationReceived: BGPNotification?
    public var wasEstablished: Bool

    public var description: String { reason }
}

/// RFC 4271 §6.8: of two connections between the same speakers, the one opened by the higher BGP identifier
/// survives.
public enum BGPCollision {
    public enum Survivor: Hashable, Sendable {
        case outgoing
        case incoming
    }

    public static func survivor(localID: IPv4Address, remoteID: IPv4Address) -> Survivor {
        localID.rawValue > remoteID.rawValue ? .outgoing : .incoming
    }
}
