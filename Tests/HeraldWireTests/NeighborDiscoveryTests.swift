import HeraldCore
@testable import HeraldWire
import NIOCore
import Testing

@Suite struct NeighborDiscoveryTests {
    typealias F = Frames

    static func decode(_ bytes: [UInt8]) throws(WireError) -> (EthernetFrame, IPv6Packet, NDPMessage) {
        var buffer = ByteBuffer(bytes: bytes)
        let frame = try EthernetFrame.decode(from: &buffer)
        var payload = frame.payload
        let packet = try IPv6Packet.decode(from: &payload)
        return (frame, packet, try NDPMessage.decode(from: packet))
    }

    @Test func solicitationsLikeScapy() throws {
        let (frame, packet, message) = try Self.decode(F.bytes("multicastSolicitation"))
        #expect(packet.hopLimit == 255 && packet.source == F.askerIPv6)
        #expect(packet.destination == F.ownedIPv6.solicitedNodeMulticast)
        #expect(frame.destination == IPv6Packet.multicastMAC(for: packet.destination))
        guard case .solicitation(let solicitation) = message else { Issue.record("not a solicitation"); return }
        #expect(solicitation.target == F.ownedIPv6 && solicitation.sourceLinkLayerAddress == F.a)
        #expect(F.encoded(message.packet(source: packet.source, destination: packet.destination).frame(from: F.a, to: frame.destination))
            == F.bytes("multicastSolicitation"))

        // A unicast NUD probe may come without the asker's MAC.
        let (_, probePacket, probe) = try Self.decode(F.bytes("unicastProbe"))
        #expect(probePacket.destination == F.ownedIPv6)
        #expect(probe == .solicitation(NeighborSolicitation(target: F.ownedIPv6)))

        let (_, dadPacket, dad) = try Self.decode(F.bytes("dadProbe"))
        #expect(dadPacket.source == .unspecified && dad.target == F.ownedIPv6 && dad.options.isEmpty)
    }

    @Test func advertisementsLikeScapy() throws {
        let solicited = NDPMessage.advertisement(NeighborAdvertisement(solicited: true, override: true, target: F.ownedIPv6,
                                                                       options: [.targetLinkLayerAddress(F.b)]))
        let answer = solicited.packet(source: F.ownedIPv6, destination: F.askerIPv6).frame(from: F.b, to: F.a)
        #expect(F.encoded(answer) == F.bytes("solicitedAdvertisement"))
        let unsolicited = NDPMessage.advertisement(NeighborAdvertisement(solicited: false, override: true, target: F.ownedIPv6,
                                                                         options: [.targetLinkLayerAddress(F.b)]))
        let announcement = unsolicited.packet(source: try IPv6Address(parsing: "fe80::2"), destination: .allNodes)
            .frame(from: F.b, to: IPv6Packet.multicastMAC(for: .allNodes))
        #expect(F.encoded(announcement) == F.bytes("unsolicitedAdvertisement"))
        let (_, _, decoded) = try Self.decode(F.bytes("unsolicitedAdvertisement"))
        guard case .advertisement(let advertisement) = decoded else { Issue.record("not an advertisement"); return }
        #expect(advertisement.override && !advertisement.solicited && !advertisement.router)
        #expect(advertisement.targetLinkLayerAddress == F.b)
    }

    /// Flipping any single bit of the ICMPv6 message or the addresses breaks the checksum (or the message).
    @Test func everyBitFlipIsCaught() throws {
        let bytes = F.bytes("multicastSolicitation")
        for index in 22..<bytes.count {  // source address onwards: covered by the pseudo-header or the body
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                #expect((try? Self.decode(flipped)) == nil, "byte \(index) bit \(bit)")
            }
        }
    }

    @Test func refusesMalformedMessages() throws {
        let base = F.bytes("multicastSolicitation")
        func reencode(_ mutate: (inout [UInt8]) -> Void) -> [UInt8] {
            // Change the ICMPv6 body, then fix the checksum so the check under test is the one that fails.
            var bytes = base
            mutate(&bytes)
            bytes[56] = 0; bytes[57] = 0
            var body = ByteBuffer(bytes: bytes[54...])
            let sum = NDPMessage.checksum(of: body, source: F.askerIPv6, destination: F.ownedIPv6.solicitedNodeMulticast)
            body.setInteger(sum, at: 2)
            return Array(bytes[..<54]) + Array(body.readableBytesView)
        }
        #expect(throws: WireError(.malformed, "ICMPv6 code 1 in a Neighbour Discovery message")) { try Self.decode(reencode { $0[55] = 1 }) }
        #expect(throws: WireError(.malformed, "option 1 has length 0")) { try Self.decode(reencode { $0[79] = 0 }) }
        #expect(throws: WireError(.truncated, "option 1 of 16 bytes, 8 left")) { try Self.decode(reencode { $0[79] = 2 }) }
        #expect(throws: WireError(.malformed, "target ff00:db8::10 is a multicast address")) {
            try Self.decode(reencode { $0[62] = 0xff; $0[63] = 0 })
        }
        #expect(throws: WireError(.unsupported, "ICMPv6 type 128")) { try Self.decode(reencode { $0[54] = 128 }) }
        #expect(throws: WireError(.badChecksum, "ICMPv6 checksum does not match")) {
            var bytes = base
            bytes[57] ^= 1
            return try Self.decode(bytes)
        }
        #expect(throws: WireError(.unsupported, "IP version 4 in an IPv6 frame")) {
            var bytes = base
            bytes[14] = 0x40
            return try Self.decode(bytes)
        }
        #expect(throws: WireError(.truncated, "IPv6 payload length 33, but 32 bytes follow the header")) {
            var bytes = base
            bytes[19] = 33
            return try Self.decode(bytes)
        }
    }

    @Test func unknownOptionsSurviveARoundTrip() throws {
        let message = NDPMessage.solicitation(NeighborSolicitation(target: F.ownedIPv6, options: [
            .other(type: 14, body: [1, 2, 3, 4, 5, 6]), .sourceLinkLayerAddress(F.a), .other(type: 99, body: [7]),
        ]))
        let packet = message.packet(source: F.askerIPv6, destination: F.ownedIPv6)
        #expect(try NDPMessage.decode(from: packet) == .solicitation(NeighborSolicitation(target: F.ownedIPv6, options: [
            .other(type: 14, body: [1, 2, 3, 4, 5, 6]), .sourceLinkLayerAddress(F.a), .other(type: 99, body: [7, 0, 0, 0, 0, 0]),
        ])))
    }

    @Test func multicastMACMapping() throws {
        #expect(IPv6Packet.multicastMAC(for: .allNodes).description == "33:33:00:00:00:01")
        #expect(IPv6Packet.multicastMAC(for: try IPv6Address(parsing: "ff02::1:ff12:3456")).description == "33:33:ff:12:34:56")
        #expect(try IPv6Address(parsing: "fe80::1").isLinkLocal && !(try IPv6Address(parsing: "2001:db8::1").isLinkLocal))
    }
}
