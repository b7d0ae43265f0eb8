import BGPSession
import BGPWire
import HeraldCore
import SeededRandom
import Testing

typealias Session = BGPSession<SeededGenerator>

func network(_ text: String) -> IPNetwork { try! IPNetwork(parsing: text) }

let nodeAddress = IPAddress.v4(IPv4Address(192, 0, 2, 11))
let nodeAddress6 = try! IPAddress(parsing: "2001:db8::11")
let routerID = IPv4Address(192, 0, 2, 11)
let peerID = IPv4Address(192, 0, 2, 1)

/// The messages of every `send` action, in order.
func sent(_ actions: [Session.Action]) -> [BGPMessage] {
    actions.flatMap { action -> [BGPMessage] in
        if case .send(let messages) = action { return messages }
        return []
    }
}

func updates(_ actions: [Session.Action]) -> [BGPUpdate] {
    sent(actions).compactMap { if case .update(let update) = $0 { update } else { nil } }
}

func notification(_ actions: [Session.Action]) -> BGPNotification? {
    sent(actions).compactMap { if case .notification(let n) = $0 { n } else { nil } }.first
}

func peerOpen(
    asn: UInt32 = 64500, holdTime: UInt16 = 90, families: [BGPAddressFamily] = [.ipv4Unicast, .ipv6Unicast],
    fourOctet: Bool = true, gracefulRestart: Bool = false
) -> BGPOpen {
    var capabilities = families.map(BGPCapability.multiprotocol) + [.routeRefresh]
    if gracefulRestart { capabilities.append(.gracefulRestart(BGPGracefulRestart(restarting: false, restartTime: 120, families: []))) }
    if fourOctet { return BGPOpen(autonomousSystem: asn, holdTime: holdTime, identifier: peerID, capabilities: capabilities) }
    return BGPOpen(myAutonomousSystem: UInt16(asn), holdTime: holdTime, identifier: peerID, capabilities: capabilities)
}

/// A session driven to Established against `open`, with the actions of the last step.
func establish(
    _ configuration: BGPSessionConfiguration, open: BGPOpen = peerOpen(), local: IPAddress = nodeAddress,
    routes: [IPNetwork: BGPRouteAttributes] = [:], at now: Duration = .seconds(10)
) -> (Session, [Session.Action]) {
    var session = Session(configuration: configuration, random: SeededGenerator(seed: 1))
    _ = session.setRoutes(routes, now: now)
    #expect(session.start(now: now) == [.connect])
    let opened = session.connected(localAddress: local, now: now)
    guard case .open = sent(opened).first else {
        Issue.record("no OPEN after connecting")
        return (session, [])
    }
    #expect(sent(session.received(.open(open), now: now)) == [.keepalive])
    #expect(session.state == .openConfirm)
    let actions = session.received(.keepalive, now: now)
    #expect(session.state == .established)
    return (session, actions)
}

let external = BGPSessionConfiguration(localAS: 64512, peerAS: .number(64500), routerID: routerID)
let internalPeer = BGPSessionConfiguration(localAS: 64500, peerAS: .internal, routerID: routerID)

@Suite struct BGPSessionHandshakeTests {
    @Test func opensWithItsCapabilities() {
        var configuration = external
        configuration.localAS = 4_200_000_001
        configuration.gracefulRestart = true
        var session = Session(configuration: configuration, random: SeededGenerator(seed: 1))
        _ = session.start(now: .zero)
        guard case .open(let open) = sent(session.connected(localAddress: nodeAddress, now: .zero)).first else {
            Issue.record("no OPEN")
            return
        }
        #expect(open.myAutonomousSystem == BGPOpen.asTrans && open.autonomousSystem == 4_200_000_001)
        #expect(open.holdTime == 90 && open.identifier == routerID)
        #expect(open.families == [.ipv4Unicast, .ipv6Unicast] && open.supportsRouteRefresh)
        #expect(open.gracefulRestart?.restartTime == 120 && open.gracefulRestart?.restarting == true)
        #expect(open.gracefulRestart?.families.allSatisfy(\.forwardingPreserved) == true)
    }

    @Test func establishesAndSendsRoutesThenEndOfRIB() {
        let routes = [
            network("203.0.113.10/32"): BGPRouteAttributes(communities: [BGPCommunity(64512, 7)]),
            network("2001:db8:5e::10/128"): BGPRouteAttributes(),
        ]
        var configuration = external
        configuration.otherNextHops = [.v6: nodeAddress6]
        let (session, actions) = establish(configuration, routes: routes)
        guard case .established(let negotiated) = actions.first else {
            Issue.record("no established action")
            return
        }
        #expect(negotiated.peerAS == 64500 && !negotiated.isInternal && negotiated.fourOctetAS)
        #expect(negotiated.holdTime == 90 && negotiated.keepaliveInterval == .seconds(30))
        let sentUpdates = updates(actions)
        #expect(sentUpdates.count == 4)
        #expect(sentUpdates[0].announced == [network("203.0.113.10/32")])
        #expect(sentUpdates[0].attributes.nextHop == IPv4Address(192, 0, 2, 11))
        #expect(sentUpdates[0].attributes.asPath == [.sequence([64512])])
        #expect(sentUpdates[0].attributes.localPreference == nil, "no LOCAL_PREF to an external peer")
        #expect(sentUpdates[0].attributes.communities == [BGPCommunity(64512, 7)])
        let reach = sentUpdates[1].attributes.multiprotocolReach
        #expect(reach?.prefixes == [network("2001:db8:5e::10/128")])
        #expect(reach?.nextHop == .v6(global: try! IPv6Address(parsing: "2001:db8::11"), linkLocal: nil))
        #expect(sentUpdates[2...].map(\.endOfRIB) == [.ipv4Unicast, .ipv6Unicast])
        #expect(session.rib.advertised.count == 2)
    }

    @Test func holdTimeIsTheSmallerAndKeepaliveAThird() {
        var configuration = external
        configuration.keepaliveTime = 30
        let (short, _) = establish(configuration, open: peerOpen(holdTime: 3))
        #expect(short.negotiated?.holdTime == 3 && short.negotiated?.keepaliveInterval == .seconds(1))

        configuration.holdTime = 9
        configuration.keepaliveTime = 2
        let (configured, _) = establish(configuration)
        #expect(configured.negotiated?.holdTime == 9 && configured.negotiated?.keepaliveInterval == .seconds(2))

        var (none, _) = establish(external, open: peerOpen(holdTime: 0))
        #expect(none.negotiated?.holdTime == 0 && none.negotiated?.keepaliveInterval == nil)
        #expect(none.nextDeadline == nil, "hold time 0: no keepalives and no hold timer")
        #expect(none.advance(to: .seconds(100_000)).isEmpty && none.state == .established)
    }

    @Test func keepalivesAndTheHoldTimer() {
        var (session, _) = establish(external, open: peerOpen(holdTime: 3))
        #expect(session.nextDeadline == .seconds(11))
        #expect(sent(session.advance(to: .seconds(11))) == [.keepalive])
        #expect(session.received(.keepalive, now: .milliseconds(12_500)).isEmpty)
        #expect(sent(session.advance(to: .seconds(12))) == [.keepalive])
        #expect(sent(session.advance(to: .seconds(13))) == [.keepalive])
        #expect(sent(session.advance(to: .seconds(14))) == [.keepalive])
        let expired = session.advance(to: .milliseconds(15_500))
        #expect(notification(expired) == .holdTimerExpired)
        #expect(expired.contains(.disconnect) && session.state == .active)
        #expect(session.lastDown?.wasEstablished == true && session.lastDown?.notificationSent == .holdTimerExpired)
    }

    @Test func refusesHoldTimesOfOneAndTwo() {
        for holdTime: UInt16 in [1, 2] {
            var session = Session(configuration: external, random: SeededGenerator(seed: 1))
            _ = session.start(now: .zero)
            _ = session.connected(localAddress: nodeAddress, now: .zero)
            let actions = session.received(.open(peerOpen(holdTime: holdTime)), now: .zero)
            #expect(notification(actions) == .openMessage(.unacceptableHoldTime))
            #expect(actions.contains(.disconnect) && session.state == .active)
        }
    }

    @Test func checksThePeersAS() {
        var session = Session(configuration: external, random: SeededGenerator(seed: 1))
        _ = session.start(now: .zero)
        _ = session.connected(localAddress: nodeAddress, now: .zero)
        let actions = session.received(.open(peerOpen(asn: 64501)), now: .zero)
        #expect(notification(actions) == .openMessage(.badPeerAS, data: [0xFB, 0xF5]))
        #expect(session.lastDown?.reason == "the peer's AS is 64501, configured 64500")

        // dynamicASN: external accepts any AS but ours; internal only ours.
        let dynamic = BGPSessionConfiguration(localAS: 64512, peerAS: .external, routerID: routerID)
        #expect(establish(dynamic).0.negotiated?.peerAS == 64500)
        var internalSession = Session(configuration: internalPeer, random: SeededGenerator(seed: 1))
        _ = internalSession.start(now: .zero)
        _ = internalSession.connected(localAddress: nodeAddress, now: .zero)
        #expect(notification(internalSession.received(.open(peerOpen(asn: 64512)), now: .zero))?.subcode == 2)
    }

    @Test func unexpectedMessagesAreFSMErrors() {
        var session = Session(configuration: external, random: SeededGenerator(seed: 1))
        _ = session.start(now: .zero)
        _ = session.connected(localAddress: nodeAddress, now: .zero)
        #expect(notification(session.received(.keepalive, now: .zero)) == .finiteStateMachine(.unexpectedMessageInOpenSent))

        _ = session.advance(to: .seconds(5))
        _ = session.connected(localAddress: nodeAddress, now: .seconds(5))
        _ = session.received(.open(peerOpen()), now: .seconds(5))
        #expect(
            notification(session.received(.update(BGPUpdate()), now: .seconds(5)))
                == .finiteStateMachine(.unexpectedMessageInOpenConfirm))

        var (established, _) = establish(external)
        #expect(
            notification(established.received(.open(peerOpen()), now: .seconds(10)))
                == .finiteStateMachine(.unexpectedMessageInEstablished))
    }

    @Test func aNotificationFromThePeerClosesWithoutReply() {
        var (session, _) = establish(external)
        let cease = BGPNotification.cease(.administrativeReset, message: "clear bgp")
        let actions = session.received(.notification(cease), now: .seconds(20))
        #expect(sent(actions).isEmpty && actions.contains(.disconnect))
        #expect(session.lastDown?.notificationReceived == cease && session.state == .active)
    }

    @Test func malformedBytesSendTheDecodersNotification() {
        var (session, _) = establish(external)
        let error = BGPMessageError(.updateMessage(.malformedASPath), "AS_PATH of 3 bytes is malformed")
        let actions = session.receivedMalformed(error, now: .seconds(20))
        #expect(notification(actions) == .updateMessage(.malformedASPath) && actions.contains(.disconnect))
        #expect(session.lastDown?.reason.contains("AS_PATH") == true)
    }
}

@Suite struct BGPSessionRoutesTests {
    static let a = network("203.0.113.10/32")
    static let b = network("203.0.113.11/32")

    @Test func announcesWithdrawsAndChanges() {
        var (session, _) = establish(external)
        let announced = updates(session.setRoutes([Self.a: .init(), Self.b: .init()], now: .seconds(11)))
        #expect(announced.count == 1 && announced[0].announced == [Self.a, Self.b])
        #expect(updates(session.setRoutes([Self.a: .init(), Self.b: .init()], now: .seconds(12))).isEmpty)

        let changed = updates(
            session.setRoutes([Self.a: .init(), Self.b: .init(communities: [.noExport])], now: .seconds(13)))
        #expect(changed.count == 1 && changed[0].announced == [Self.b] && changed[0].attributes.communities == [.noExport])

        let withdrawn = updates(session.setRoutes([Self.b: .init(communities: [.noExport])], now: .seconds(14)))
        #expect(withdrawn == [BGPUpdate(withdrawn: [Self.a])])
        #expect(session.rib.advertised.keys.sorted { $0.address < $1.address } == [Self.b])
    }

    @Test func internalPeersGetLocalPreferenceAndNoPrepend() {
        var (session, _) = establish(internalPeer, open: peerOpen(asn: 64500))
        let sentUpdates = updates(
            session.setRoutes([Self.a: .init(localPreference: 300), Self.b: .init()], now: .seconds(11)))
        #expect(sentUpdates.count == 2)
        #expect(sentUpdates.allSatisfy { $0.attributes.asPath == [] })
        #expect(sentUpdates.map(\.attributes.localPreference).sorted { ($0 ?? 0) < ($1 ?? 0) } == [100, 300])
    }

    @Test func routeRefreshResendsTheFamily() {
        var (session, _) = establish(external, routes: [Self.a: .init()])
        let resent = updates(session.received(.routeRefresh(BGPRouteRefresh(family: .ipv4Unicast)), now: .seconds(20)))
        #expect(resent.count == 1 && resent[0].announced == [Self.a])
        #expect(session.received(.routeRefresh(BGPRouteRefresh(family: .ipv6Unicast)), now: .seconds(20)).isEmpty)
    }

    @Test func aFamilyThePeerDidNotOfferIsNotSent() {
        var configuration = external
        configuration.otherNextHops = [.v6: nodeAddress6]
        let (session, actions) = establish(
            configuration, open: peerOpen(families: [.ipv4Unicast]),
            routes: [Self.a: .init(), network("2001:db8:5e::10/128"): .init()])
        #expect(session.negotiated?.families == [.ipv4Unicast])
        #expect(updates(actions).map(\.announced) == [[Self.a], []])
        #expect(updates(actions).allSatisfy { $0.attributes.multiprotocolReach == nil })
    }

    @Test func aReconnectReadvertisesEverything() {
        var (session, _) = establish(external, routes: [Self.a: .init()])
        _ = session.connectionClosed(now: .seconds(20))
        #expect(session.state == .active && session.rib.advertised.isEmpty)
        guard let retry = session.nextDeadline else { Issue.record("no retry scheduled"); return }
        #expect(session.advance(to: retry) == [.connect])
        _ = session.connected(localAddress: nodeAddress, now: retry)
        _ = session.received(.open(peerOpen()), now: retry)
        let actions = session.received(.keepalive, now: retry)
        #expect(updates(actions).first?.announced == [Self.a])
    }

    @Test func stopWithdrawsThenCeases() {
        var (session, _) = establish(external, routes: [Self.a: .init(), Self.b: .init()])
        let actions = session.stop(now: .seconds(30), reason: .administrativeShutdown, message: "SIGTERM")
        let messages = sent(actions)
        #expect(messages.count == 2)
        #expect(messages.first == .update(BGPUpdate(withdrawn: [Self.a, Self.b])))
        #expect(messages.last == .notification(.cease(.administrativeShutdown, message: "SIGTERM")))
        #expect(actions.contains(.disconnect) && session.state == .idle && session.nextDeadline == nil)
    }

    @Test func twoOctetPeersGetASTransAndAS4Path() throws {
        var configuration = external
        configuration.localAS = 4_200_000_001
        var (session, _) = establish(configuration, open: peerOpen(fourOctet: false))
        #expect(session.fourOctetAS == false)
        let update = try #require(updates(session.setRoutes([Self.a: .init()], now: .seconds(11))).first)
        var bytes = BGPMessage.update(update).encoded(fourOctetAS: false)
        guard case .update(let decoded) = try BGPMessage.decode(from: &bytes, fourOctetAS: false) else {
            Issue.record("not an UPDATE")
            return
        }
        #expect(decoded.attributes.asPath == [.sequence([UInt32(BGPOpen.asTrans)])])
        #expect(decoded.attributes.as4Path == [.sequence([4_200_000_001])])
    }
}

@Suite struct BGPSessionRetryTests {
    @Test func backoffGrowsWithJitterAndIsCapped() {
        var session = Session(configuration: external, random: SeededGenerator(seed: 3))
        var now = Duration.zero
        _ = session.start(now: now)
        var delays: [Duration] = []
        for _ in 0..<10 {
            _ = session.connectionFailed(now: now, reason: "connection refused")
            guard let next = session.nextDeadline else { Issue.record("no retry"); return }
            delays.append(next - now)
            now = next
            #expect(session.advance(to: now) == [.connect])
        }
        let bases: [Duration] = [2, 4, 8, 16, 30, 30, 30, 30, 30, 30].map { .seconds($0) }
        for (delay, base) in zip(delays, bases) {
            #expect(delay >= base * 0.75 && delay <= base, "\(delay) for \(base)")
        }
    }

    @Test func aConnectAttemptTimesOut() {
        var session = Session(configuration: external, random: SeededGenerator(seed: 3))
        _ = session.start(now: .zero)
        #expect(session.nextDeadline == .seconds(2))
        let actions = session.advance(to: .seconds(2))
        #expect(actions == [.disconnect] && session.state == .active)
        #expect(session.lastDown?.reason == "connection attempt timed out")
    }

    @Test func aStableSessionForgetsItsBackoff() {
        var (session, _) = establish(external)
        for _ in 0..<5 {
            _ = session.connectionClosed(now: .seconds(10))
            let retry = session.nextDeadline!
            _ = session.advance(to: retry)
            _ = session.connectionFailed(now: retry, reason: "refused")
            _ = session.advance(to: session.nextDeadline!)
            _ = session.connected(localAddress: nodeAddress, now: .seconds(10))
        }
        // Up for longer than `stableTime`, then down: the next retry waits the base time again.
        var (stable, _) = establish(external)
        _ = stable.connectionClosed(now: .seconds(100))
        #expect(stable.nextDeadline! - .seconds(100) <= .seconds(2))
        #expect(BGPCollision.survivor(localID: routerID, remoteID: peerID) == .outgoing)
    }
}
