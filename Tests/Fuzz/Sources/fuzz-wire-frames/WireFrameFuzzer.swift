import HeraldCore
import HeraldWire
import NIOCore

/// libFuzzer entry point. Any bytes must decode or throw, never trap or read out of bounds; a failed decode
/// must leave its buffer as it was; whatever decodes must encode to bytes that decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let original = buffer
    guard let frame = try? EthernetFrame.decode(from: &buffer) else {
        precondition(buffer == original, "a failed Ethernet decode moved the buffer")
        return 0
    }
    var reencoded = ByteBuffer()
    frame.encode(into: &reencoded)
    precondition((try? EthernetFrame.decode(from: &reencoded)) == frame, "Ethernet round trip")

    var payload = frame.payload
    switch frame.etherType {
    case EthernetFrame.arp:
        let before = payload
        guard let packet = try? ARPPacket.decode(from: &payload) else {
            precondition(payload == before, "a failed ARP decode moved the buffer")
            return 0
        }
        var bytes = ByteBuffer()
        packet.encode(into: &bytes)
        precondition((try? ARPPacket.decode(from: &bytes)) == packet, "ARP round trip")
    case EthernetFrame.ipv6:
        let before = payload
        guard let packet = try? IPv6Packet.decode(from: &payload) else {
            precondition(payload == before, "a failed IPv6 decode moved the buffer")
            return 0
        }
        guard let message = try? NDPMessage.decode(from: packet) else { return 0 }
        let rebuilt = message.packet(source: packet.source, destination: packet.destination)
        precondition((try? NDPMessage.decode(from: rebuilt)) == message, "Neighbour Discovery round trip")
    default:
        break
    }
    return 0
}
