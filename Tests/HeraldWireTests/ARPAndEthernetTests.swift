import HeraldCore
@testable import HeraldWire
import NIOCore
import Testing

@Suite struct ARPAndEthernetTests {
    typealias F = Frames

    @Test func decodesAndEncodesARPLikeScapy() throws {
        let request = ARPPacket.request(for: F.ownedIP, from: F.a, ip: F.askerIP)
        let reply = ARPPacket.reply(to: request, mac: F.b)
        let cases: [(String, ARPPacket, MACAddress)] = [
            ("arpRequest", request, .broadcast), ("arpReply", reply, F.a),
            ("gratuitousRequest", .gratuitous(F.ownedIP, at: F.b, operation: .request), .broadcast),
            ("gratuitousReply", .gratuitous(F.ownedIP, at: F.b, operation: .reply), .broadcast),
        ]
        for (name, packet, destination) in cases {
            var buffer = F.buffer(name)
            let frame = try EthernetFrame.decode(from: &buffer)
            #expect(buffer.readableBytes == 0)
            #expect(frame.etherType == EthernetFrame.arp && frame.vlanTag == nil && frame.destination == destination)
            var payload = frame.payload
            #expect(try ARPPacket.decode(from: &payload) == packet, "\(name)")
            #expect(F.encoded(packet.frame(to: destination)) == F.bytes(name), "\(name)")
        }
        #expect(ARPPacket.gratuitous(F.ownedIP, at: F.b, operation: .reply).isGratuitous && !request.isGratuitous)
    }

    @Test func keepsTheVLANTag() throws {
        var buffer = F.buffer("taggedARPRequest")
        let frame = try EthernetFrame.decode(from: &buffer)
        #expect(frame.vlanID == 100 && frame.vlanTag == 0x6064)
        var payload = frame.payload
        let request = try ARPPacket.decode(from: &payload)
        #expect(request.targetIP == F.ownedIP)
        #expect(F.encoded(frame) == F.bytes("taggedARPRequest"))
        // The reply goes back on the same VLAN.
        let reply = ARPPacket.reply(to: request, mac: F.b).frame(to: request.senderMAC, vlanTag: frame.vlanTag)
        #expect(F.encoded(reply).count == 46 && reply.vlanID == 100)
    }

    /// Every truncation of every golden frame throws and consumes nothing (NIO's approach: try every length).
    @Test(arguments: Array(Frames.golden.keys).sorted())
    func truncationsThrowAndConsumeNothing(name: String) {
        let bytes = F.bytes(name)
        for length in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<length])
            let before = buffer
            do {
                let frame = try EthernetFrame.decode(from: &buffer)
                #expect(length >= 14, "a frame needs 14 header bytes")
                var payload = frame.payload
                if frame.etherType == EthernetFrame.arp {
                    #expect(throws: WireError.self) { try ARPPacket.decode(from: &payload) }
                } else {
                    let outcome = Result { () throws(WireError) in try NDPMessage.decode(from: try IPv6Packet.decode(from: &payload)) }
                    #expect((try? outcome.get()) == nil, "\(name) cut at \(length) decoded")
                }
            } catch {
                #expect(error.code == .truncated, "\(name) cut at \(length): \(error)")
                #expect(buffer == before)
            }
        }
    }

    @Test func refusesWhatIsNotEthernetIIOrEthernetARP() {
        func arp(_ mutate: (inout [UInt8]) -> Void) -> WireError? {
            var bytes = Array(F.bytes("arpRequest")[14...])
            mutate(&bytes)
            var buffer = ByteBuffer(bytes: bytes)
            let before = buffer
            do { _ = try ARPPacket.decode(from: &buffer); return nil } catch {
                #expect(buffer == before)
                return error
            }
        }
        #expect(arp { $0[1] = 6 }?.code == .unsupported)  // hardware type 6 (IEEE 802)
        #expect(arp { $0[2] = 0x86; $0[3] = 0xdd }?.code == .unsupported)  // protocol IPv6
        #expect(arp { $0[4] = 8 }?.code == .unsupported)  // hardware length 8
        #expect(arp { $0[7] = 3 }?.description == "unsupported: ARP operation 3")  // RARP
        #expect(arp { _ in } == nil)

        var length = ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 12) + [0x00, 0x2e] + [UInt8](repeating: 0, count: 46))
        #expect(throws: WireError(.unsupported, "802.3 length field 46 instead of an EtherType")) { try EthernetFrame.decode(from: &length) }
        var stacked = ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 12) + [0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x06])
        #expect(throws: WireError(.unsupported, "stacked 802.1Q tags")) { try EthernetFrame.decode(from: &stacked) }
        var huge = ByteBuffer(repeating: 0, count: EthernetFrame.maximumLength + 1)
        #expect(throws: WireError(.oversized, "Ethernet frame of 9217 bytes exceeds 9216")) { try EthernetFrame.decode(from: &huge) }
    }

    @Test func paddingIsIgnoredAndAdded() throws {
        var buffer = ByteBuffer(bytes: F.bytes("arpRequest") + [UInt8](repeating: 0, count: 18))
        let frame = try EthernetFrame.decode(from: &buffer)
        var payload = frame.payload
        _ = try ARPPacket.decode(from: &payload)
        #expect(payload.readableBytes == 18)
        #expect(frame.bytes.count == 60)
    }

    @Test func checksumOfRFC1071Example() {
        // RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2, so the checksum is its complement 220d.
        var sum = InternetChecksum()
        sum.add([0x00, 0x01, 0xf2, 0x03])
        sum.add([0xf4, 0xf5, 0xf6, 0xf7])
        #expect(sum.value == 0x220d)
        var odd = InternetChecksum()
        odd.add([0x00, 0x01, 0xf2])
        odd.add([0x03, 0xf4, 0xf5, 0xf6, 0xf7])
        #expect(odd.value == 0x220d)
    }
}
