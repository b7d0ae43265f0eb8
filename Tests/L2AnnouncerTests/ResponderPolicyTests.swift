import HeraldCore
import HeraldWire
import L2Announcer
import NIOCore
import Testing

/// Which frames get an answer and why the others do not, one row per case, as MetalLB's layer2 tests do —
/// except that solicitations without a source link-layer option are answered.
@Suite struct ResponderPolicyTests {
    static let me = MACAddress(rawValue: 0x0200_0000_0002)!
    static let asker = MACAddress(rawValue: 0x0200_0000_0001)!
    static let owned: Set<IPAddress> = [.v4(IPv4Address(192, 0, 2, 10)), .v6(try! IPv6Address(parsing: "2001:db8::10"))]
    static let policy = ResponderPolicy(mac: me)
    static func v6(_ text: String) -> IPv6Address { try! IPv6Address(parsing: text) }

    static func verdict(_ frame: EthernetFrame, tagged: Bool = false, notForUs: Bool = false) -> Verdict {
        var buffer = ByteBuffer()
        frame.encode(into: &buffer)
        return policy.verdict(for: buffer, hadVLANTag: tagged, notForUs: notForUs, owns: owned.contains)
    }

    static func arpRequest(_ target: String, from mac: MACAddress = asker) -> EthernetFrame {
        ARPPacket.request(for: try! IPv4Address(parsing: target), from: mac, ip: IPv4Address(192, 0, 2, 1)).frame(to: .broadcast)
    }

    static func solicitation(_ target: String, source: String = "2001:db8::1", destination: String? = nil, hopLimit: UInt8 = 255,
                             options: [NDPOption] = [.sourceLinkLayerAddress(asker)]) -> EthernetFrame {
        let targetAddress = try! IPv6Address(parsing: target)
        let to = destination.map { try! IPv6Address(parsing: $0) } ?? targetAddress.solicitedNodeMulticast
        var packet = NDPMessage.solicitation(NeighborSolicitation(target: targetAddress, options: options))
            .packet(source: try! IPv6Address(parsing: source), destination: to)
        packet.hopLimit = hopLimit
        return packet.frame(from: asker, to: to.isMulticast ? IPv6Packet.multicastMAC(for: to) : me)
    }

    @Test func arpRequestForAnOwnedAddressIsAnsweredToTheAsker() throws {
        guard case .answer(let frame, .v4) = Self.verdict(Self.arpRequest("192.0.2.10")) else { Issue.record("no answer"); return }
        #expect(frame.destination == Self.asker && frame.source == Self.me)
        var payload = frame.payload
        let reply = try ARPPacket.decode(from: &payload)
        #expect(reply.operation == .reply && reply.senderMAC == Self.me && reply.senderIP == IPv4Address(192, 0, 2, 10))
        #expect(reply.targetMAC == Self.asker && reply.targetIP == IPv4Address(192, 0, 2, 1))
    }

    @Test(arguments: [
        (ResponderPolicyTests.arpRequest("192.0.2.11"), false, false, Verdict.drop(.notOwned, .v4)),
        (ResponderPolicyTests.arpRequest("192.0.2.10", from: ResponderPolicyTests.me), false, false, .drop(.fromSelf, .v4)),
        (ResponderPolicyTests.arpRequest("192.0.2.10"), true, false, .drop(.vlanTagged, .v4)),
        (ResponderPolicyTests.arpRequest("192.0.2.10"), false, true, .drop(.notForUs, .v4)),
        (ARPPacket.reply(to: .request(for: IPv4Address(192, 0, 2, 11), from: asker, ip: IPv4Address(192, 0, 2, 1)), mac: asker).frame(to: me),
         false, false, .drop(.notARequest, .v4)),
        (ARPPacket.gratuitous(IPv4Address(192, 0, 2, 11), at: asker, operation: .request).frame(to: .broadcast), false, false, .drop(.announcement, .v4)),
        (ResponderPolicyTests.solicitation("2001:db8::11"), false, false, .drop(.notOwned, .v6)),
        (ResponderPolicyTests.solicitation("2001:db8::10", hopLimit: 64), false, false, .drop(.badHopLimit, .v6)),
        (ResponderPolicyTests.solicitation("2001:db8::10", destination: "ff02::1"), false, false, .drop(.badDestination, .v6)),
        (ResponderPolicyTests.solicitation("2001:db8::10", destination: "2001:db8::99"), false, false, .drop(.badDestination, .v6)),
        (ResponderPolicyTests.solicitation("2001:db8::10", source: "::"), false, false, .drop(.badDestination, .v6)),  // DAD with SLLA
        (ResponderPolicyTests.solicitation("2001:db8::10", source: "::", destination: "2001:db8::10", options: []), false, false, .drop(.badDestination, .v6)),
    ] as [(EthernetFrame, Bool, Bool, Verdict)])
    func dropsWithAReason(frame: EthernetFrame, tagged: Bool, notForUs: Bool, expected: Verdict) {
        #expect(Self.verdict(frame, tagged: tagged, notForUs: notForUs) == expected)
    }

    /// Another MAC saying it has an owned address, in any of the ways it can: a claim to report, never answered.
    @Test func anotherMACClaimingAnOwnedAddressIsReported() {
        let ip4 = IPv4Address(192, 0, 2, 10), ip6 = Self.v6("2001:db8::10")
        for operation in [ARPPacket.Operation.request, .reply] {
            #expect(Self.verdict(ARPPacket.gratuitous(ip4, at: Self.asker, operation: operation).frame(to: .broadcast)) == .claim(.v4(ip4), by: Self.asker))
        }
        // Its answer to this node's conflict probe.
        let answer = ARPPacket.reply(to: .request(for: ip4, from: Self.me, ip: IPv4Address(rawValue: 0)), mac: Self.asker).frame(to: Self.me)
        #expect(Self.verdict(answer) == .claim(.v4(ip4), by: Self.asker))
        // An unsolicited Neighbour Advertisement, by its target link-layer option or else its frame source.
        for options in [[NDPOption.targetLinkLayerAddress(Self.asker)], []] {
            let advertisement = NeighborAdvertisement(solicited: false, override: true, target: ip6, options: options)
            let frame = NDPMessage.advertisement(advertisement).packet(source: ip6, destination: .allNodes)
                .frame(from: Self.asker, to: IPv6Packet.multicastMAC(for: .allNodes))
            #expect(Self.verdict(frame) == .claim(.v6(ip6), by: Self.asker))
        }
        let other = NeighborAdvertisement(solicited: false, override: true, target: Self.v6("2001:db8::11"), options: [.targetLinkLayerAddress(Self.asker)])
        #expect(Self.verdict(NDPMessage.advertisement(other).packet(source: Self.v6("2001:db8::11"), destination: .allNodes)
            .frame(from: Self.asker, to: IPv6Packet.multicastMAC(for: .allNodes))) == .drop(.notARequest, .v6))
    }

    /// The conflict probe: from 0.0.0.0, so it claims nothing; another owner answers it.
    @Test func aConflictProbeIsAnsweredAndClaimsNothing() throws {
        let probe = ResponderPolicy(mac: Self.asker).conflictProbe(for: .v4(IPv4Address(192, 0, 2, 10)))
        #expect(probe.destination == .broadcast && probe.source == Self.asker)
        guard case .answer(let frame, .v4) = Self.verdict(probe) else { Issue.record("the probe was not answered"); return }
        var payload = frame.payload
        let reply = try ARPPacket.decode(from: &payload)
        #expect(frame.destination == Self.asker && reply.senderIP == IPv4Address(192, 0, 2, 10) && reply.senderMAC == Self.me)
        // The prober reads that reply as the other owner's claim.
        let prober = ResponderPolicy(mac: Self.asker)
        var bytes = ByteBuffer()
        frame.encode(into: &bytes)
        #expect(prober.verdict(for: bytes, owns: Self.owned.contains) == .claim(.v4(IPv4Address(192, 0, 2, 10)), by: Self.me))
    }

    /// The IPv6 conflict probe is a DAD solicitation (RFC 4862 §5.4): from ::, to the solicited-node group, hop
    /// limit 255, no source link-layer option. Another owner answers it to all nodes, and the prober reads
    /// that answer as a claim.
    @Test func anIPv6ConflictProbeIsADADSolicitationWhoseAnswerIsAClaim() throws {
        let target = Self.v6("2001:db8::10")
        let prober = ResponderPolicy(mac: Self.asker)
        let probe = prober.conflictProbe(for: .v6(target))
        #expect(probe.source == Self.asker && probe.destination == IPv6Packet.multicastMAC(for: target.solicitedNodeMulticast))
        var payload = probe.payload
        let packet = try IPv6Packet.decode(from: &payload)
        #expect(packet.source == .unspecified && packet.destination == target.solicitedNodeMulticast && packet.hopLimit == 255)
        guard case .solicitation(let solicitation) = try NDPMessage.decode(from: packet) else {
            Issue.record("not a solicitation"); return
        }
        #expect(solicitation.target == target && solicitation.options.isEmpty)
        guard case .answer(let answer, .v6) = Self.verdict(probe) else { Issue.record("the probe was not answered"); return }
        #expect(answer.destination == IPv6Packet.multicastMAC(for: .allNodes) && answer.source == Self.me)
        var bytes = ByteBuffer()
        answer.encode(into: &bytes)
        #expect(prober.verdict(for: bytes, owns: Self.owned.contains) == .claim(.v6(target), by: Self.me))
        // An address announced nowhere else: the probe claims nothing and asks nobody to answer.
        #expect(Self.policy.verdict(for: { var b = ByteBuffer(); probe.encode(into: &b); return b }(), owns: { _ in false })
            == .drop(.notOwned, .v6))
    }

    @Test func forgedGroupSourcesAreNotAnswered() {
        var broadcastSource = Self.arpRequest("192.0.2.10")
        broadcastSource.source = .broadcast
        #expect(Self.verdict(broadcastSource) == .drop(.malformed, .v4))
        let zeroSender = ARPPacket.request(for: IPv4Address(192, 0, 2, 10), from: .zero, ip: IPv4Address(192, 0, 2, 1)).frame(to: .broadcast)
        var fromAsker = zeroSender
        fromAsker.source = Self.asker
        #expect(Self.verdict(fromAsker) == .drop(.malformed, .v4))
        // A solicitation naming a group MAC as its link-layer address is answered to the frame's real source.
        let odd = Self.solicitation("2001:db8::10", options: [.sourceLinkLayerAddress(.broadcast)])
        guard case .answer(let frame, .v6) = Self.verdict(odd) else { Issue.record("no answer"); return }
        #expect(frame.destination == Self.asker)
    }

    @Test func inBandVLANTagIsDropped() {
        var frame = Self.arpRequest("192.0.2.10")
        frame.vlanTag = 100
        #expect(Self.verdict(frame) == .drop(.vlanTagged, .v4))
    }

    @Test func garbageIsMalformed() {
        #expect(Self.policy.verdict(for: ByteBuffer(bytes: [1, 2, 3]), owns: { _ in true }) == .drop(.malformed, nil))
        var truncatedARP = ByteBuffer()
        Self.arpRequest("192.0.2.10").encode(into: &truncatedARP)
        truncatedARP.moveWriterIndex(to: truncatedARP.writerIndex - 5)
        #expect(Self.policy.verdict(for: truncatedARP, owns: { _ in true }) == .drop(.malformed, .v4))
    }

    static func advertisement(in verdict: Verdict) -> (EthernetFrame, IPv6Packet, NeighborAdvertisement)? {
        guard case .answer(let frame, .v6) = verdict else { return nil }
        var payload = frame.payload
        guard let packet = try? IPv6Packet.decode(from: &payload),
              case .advertisement(let advertisement)? = try? NDPMessage.decode(from: packet) else { return nil }
        return (frame, packet, advertisement)
    }

    @Test func multicastSolicitationIsAnsweredSolicitedWithOverride() throws {
        let (frame, packet, advertisement) = try #require(Self.advertisement(in: Self.verdict(Self.solicitation("2001:db8::10"))))
        #expect(frame.destination == Self.asker && packet.destination == Self.v6("2001:db8::1"))
        #expect(packet.source == Self.v6("2001:db8::10") && packet.hopLimit == 255)
        #expect(advertisement.solicited && advertisement.override && !advertisement.router)
        #expect(advertisement.targetLinkLayerAddress == Self.me)
    }

    /// MetalLB issue #2920: a unicast NUD probe without a source link-layer option must still be answered.
    @Test func unicastProbeWithoutLinkLayerOptionIsAnsweredToTheFrameSource() throws {
        let probe = Self.solicitation("2001:db8::10", destination: "2001:db8::10", options: [])
        let (frame, packet, advertisement) = try #require(Self.advertisement(in: Self.verdict(probe)))
        #expect(frame.destination == Self.asker)
        #expect(packet.destination == Self.v6("2001:db8::1"))
        #expect(advertisement.solicited && advertisement.override)
    }

    @Test func duplicateAddressDetectionIsAnsweredToAllNodes() throws {
        let probe = Self.solicitation("2001:db8::10", source: "::", options: [])
        let (frame, packet, advertisement) = try #require(Self.advertisement(in: Self.verdict(probe)))
        #expect(packet.destination == .allNodes && frame.destination.description == "33:33:00:00:00:01")
        #expect(!advertisement.solicited && advertisement.override)
    }

    @Test func announcements() throws {
        let v4 = Self.policy.announcement(of: .v4(IPv4Address(192, 0, 2, 10)))
        #expect(v4.count == 2 && v4.allSatisfy { $0.destination == .broadcast && $0.source == Self.me })
        let v6 = Self.policy.announcement(of: .v6(Self.v6("2001:db8::10")))
        let (_, packet, advertisement) = try #require(Self.advertisement(in: .answer(v6[0], .v6)))
        #expect(packet.destination == .allNodes && !advertisement.solicited && advertisement.override)
    }

    @Test func scheduleParsing() {
        #expect(AnnouncementSchedule(milliseconds: "0, 500,1000")?.offsets == [.zero, .milliseconds(500), .seconds(1)])
        #expect(AnnouncementSchedule.standard.description == "0,500,1000,2000,4000")
        #expect(AnnouncementSchedule(milliseconds: "") == nil && AnnouncementSchedule(milliseconds: "-1") == nil)
        #expect(AnnouncementSchedule(milliseconds: "x") == nil)
    }
}
