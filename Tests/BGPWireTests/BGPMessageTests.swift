@testable import BGPWire
import HeraldCore
import NIOCore
import Testing

func network(_ text: String) -> IPNetwork { try! IPNetwork(parsing: text) }
func ipv6(_ text: String) -> IPv6Address { try! IPv6Address(parsing: text) }

func decodeOne(_ bytes: [UInt8], fourOctetAS: Bool = true) throws(BGPMessageError) -> BGPMessage {
    var buffer = ByteBuffer(bytes: bytes)
    guard let message = try BGPMessage.decode(from: &buffer, fourOctetAS: fourOctetAS) else {
        throw BGPMessageError(.messageHeader(.badMessageLength), "incomplete message in test")
    }
    #expect(buffer.readableBytes == 0, "the whole message is read")
    return message
}

func encodedBytes(_ message: BGPMessage, fourOctetAS: Bool = true) -> [UInt8] {
    Array(message.encoded(fourOctetAS: fourOctetAS).readableBytesView)
}

@Suite struct GoldenMessageTests {
    typealias G = GoldenMessages

    @Test func openWithEveryCapability() throws {
        guard case .open(let open) = try decodeOne(G.bytes("open")) else { Issue.record("not an OPEN"); return }
        #expect(open.version == 4 && open.myAutonomousSystem == BGPOpen.asTrans && open.holdTime == 90)
        #expect(open.identifier == IPv4Address(192, 0, 2, 1))
        #expect(open.autonomousSystem == 4_200_000_001)
        #expect(open.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(open.supportsRouteRefresh)
        #expect(
            open.gracefulRestart
                == BGPGracefulRestart(
                    restarting: true, restartTime: 120,
                    families: [
                        .init(family: .ipv4Unicast, forwardingPreserved: true),
                        .init(family: .ipv6Unicast, forwardingPreserved: false),
                    ]))
        #expect(open.capabilities.last == .unknown(code: 70, value: []), "an unknown capability is kept")
        // Herald packs all capabilities in one parameter, scapy one per parameter: the values must agree.
        #expect(try decodeOne(encodedBytes(.open(open))) == .open(open))
    }

    @Test func openOfTwoOctetSpeaker() throws {
        let open = BGPOpen(
            myAutonomousSystem: 64512, holdTime: 3, identifier: IPv4Address(192, 0, 2, 2),
            capabilities: [.multiprotocol(.ipv4Unicast)])
        #expect(try decodeOne(G.bytes("openTwoOctet")) == .open(open))
        #expect(open.autonomousSystem == 64512 && open.fourOctetAS == nil && !open.supportsRouteRefresh)
        #expect(encodedBytes(.open(open)) == G.bytes("openTwoOctet"))
    }

    @Test func keepaliveNotificationAndRouteRefresh() throws {
        #expect(try decodeOne(G.bytes("keepalive")) == .keepalive)
        #expect(encodedBytes(.keepalive) == G.bytes("keepalive"))

        let cease = BGPNotification.cease(.administrativeShutdown, message: "maintenance")
        #expect(try decodeOne(G.bytes("ceaseShutdown")) == .notification(cease))
        #expect(encodedBytes(.notification(cease)) == G.bytes("ceaseShutdown"))
        #expect(cease.shutdownMessage == "maintenance")
        #expect(cease.description == "cease: administrativeShutdown (6/2) \"maintenance\"")

        let holdTime = BGPNotification.openMessage(.unacceptableHoldTime)
        #expect(try decodeOne(G.bytes("holdTimeNotification")) == .notification(holdTime))
        #expect(encodedBytes(.notification(holdTime)) == G.bytes("holdTimeNotification"))

        #expect(try decodeOne(G.bytes("routeRefresh")) == .routeRefresh(BGPRouteRefresh(family: .ipv4Unicast)))
        #expect(encodedBytes(.routeRefresh(BGPRouteRefresh(family: .ipv4Unicast))) == G.bytes("routeRefresh"))
    }

    static let ipv4Update = BGPUpdate(
        attributes: BGPPathAttributes(
            origin: .igp, asPath: [.sequence([4_200_000_001])], nextHop: IPv4Address(192, 0, 2, 1),
            localPreference: 100, communities: [BGPCommunity(64512, 100)],
            largeCommunities: [BGPLargeCommunity(4_200_000_001, 1, 2), BGPLargeCommunity(64512, 7, 0)]),
        announced: [network("203.0.113.10/32"), network("203.0.113.0/24")])

    @Test func ipv4Update() throws {
        #expect(try decodeOne(G.bytes("updateIPv4")) == .update(Self.ipv4Update))
        #expect(encodedBytes(.update(Self.ipv4Update)) == G.bytes("updateIPv4"))
    }

    @Test func ipv6UpdateWithLinkLocalNextHop() throws {
        let update = BGPUpdate(
            attributes: BGPPathAttributes(
                origin: .incomplete, asPath: [.sequence([64512, 64513])],
                multiprotocolReach: BGPMultiprotocolReach(
                    family: .ipv6Unicast, nextHop: .v6(global: ipv6("2001:db8::1"), linkLocal: ipv6("fe80::1")),
                    prefixes: [network("2001:db8:5e::10/128"), network("2001:db8:5e::/64")])))
        #expect(try decodeOne(G.bytes("updateIPv6")) == .update(update))
        #expect(encodedBytes(.update(update)) == G.bytes("updateIPv6"))
    }

    @Test func withdrawalsAndEndOfRIB() throws {
        let ipv4 = BGPUpdate(withdrawn: [network("203.0.113.10/32")])
        #expect(try decodeOne(G.bytes("withdrawIPv4")) == .update(ipv4))
        #expect(encodedBytes(.update(ipv4)) == G.bytes("withdrawIPv4"))
        let ipv6 = BGPUpdate(
            attributes: BGPPathAttributes(
                multiprotocolUnreach: .init(family: .ipv6Unicast, prefixes: [network("2001:db8:5e::10/128")])))
        #expect(try decodeOne(G.bytes("withdrawIPv6")) == .update(ipv6))
        #expect(encodedBytes(.update(ipv6)) == G.bytes("withdrawIPv6"))
        #expect(ipv4.endOfRIB == nil && ipv6.endOfRIB == nil)

        for (name, family) in [("endOfRIBIPv4", BGPAddressFamily.ipv4Unicast), ("endOfRIBIPv6", .ipv6Unicast)] {
            guard case .update(let marker) = try decodeOne(G.bytes(name)) else { Issue.record("\(name) is not an UPDATE"); continue }
            #expect(marker.endOfRIB == family && marker == .endOfRIB(family))
            #expect(encodedBytes(.update(.endOfRIB(family))) == G.bytes(name))
        }
    }

    @Test func twoOctetSessionCarriesAS4Path() throws {
        var attributes = BGPPathAttributes(origin: .igp, nextHop: IPv4Address(192, 0, 2, 1))
        attributes.setASPath([.sequence([4_200_000_001])], fourOctetAS: false)
        let update = BGPUpdate(attributes: attributes, announced: [network("203.0.113.10/32")])
        #expect(encodedBytes(.update(update), fourOctetAS: false) == G.bytes("updateTwoOctet"))
        guard case .update(let decoded) = try decodeOne(G.bytes("updateTwoOctet"), fourOctetAS: false) else {
            Issue.record("not an UPDATE")
            return
        }
        #expect(decoded.attributes.asPath == [.sequence([UInt32(BGPOpen.asTrans)])])
        #expect(decoded.attributes.as4Path == [.sequence([4_200_000_001])])
        // The same path on a 4-octet session needs no AS4_PATH.
        attributes.setASPath([.sequence([4_200_000_001])], fourOctetAS: true)
        #expect(attributes.as4Path == nil)
    }
}

@Suite struct FramingTests {
    @Test func waitsForTheWholeMessage() throws {
        let bytes = GoldenMessages.bytes("updateIPv4") + GoldenMessages.bytes("keepalive")
        for cut in [0, 1, 18, 19, 40, bytes.count - 20] {
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            #expect(try BGPMessage.decode(from: &buffer, fourOctetAS: true) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut, "nothing read at \(cut)")
        }
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try BGPMessage.decode(from: &buffer, fourOctetAS: true) == .update(GoldenMessageTests.ipv4Update))
        #expect(try BGPMessage.decode(from: &buffer, fourOctetAS: true) == .keepalive)
        #expect(try BGPMessage.decode(from: &buffer, fourOctetAS: true) == nil && buffer.readableBytes == 0)
    }

    @Test func shutdownCommunicationIsCutAtACharacter() {
        let notification = BGPNotification.cease(.administrativeReset, message: String(repeating: "é", count: 200))
        #expect(notification.data.count == 255 && notification.data[0] == 254)
        #expect(notification.shutdownMessage == String(repeating: "é", count: 127))
        #expect(BGPNotification.cease(.peerDeconfigured, message: "ignored").data.isEmpty)
    }
}
