public import HeraldCore
public import NIOCore

/// An IPv6 header (RFC 8200) and its payload. Extension headers are not parsed: Neighbour Discovery carries none.
public struct IPv6Packet: Hashable, Sendable {
    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var nextHeader: UInt8
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address
    public var payload: ByteBuffer

    public static let headerLength = 40
    public static let icmpv6: UInt8 = 58

    public init(
        trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, nextHeader: UInt8, hopLimit: UInt8,
        source: IPv6Address, destination: IPv6Address, payload: ByteBuffer
    ) {
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xf_ffff
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
        self.payload = payload
    }

    /// Decodes a header and exactly the payload its length field gives; bytes after it (Ethernet padding) are
    /// left in the buffer.
    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> IPv6Packet {
        var view = buffer
        guard
            let (first, payloadLength, nextHeader, hopLimit) = view.readMultipleIntegers(
                as: (UInt32, UInt16, UInt8, UInt8).self),
            let source = view.readIPv6Address(), let destination = view.readIPv6Address()
        else {
            throw WireError(.truncated, "IPv6 header needs \(headerLength) bytes, got \(buffer.readableBytes)")
        }
        guard first >> 28 == 6 else { throw WireError(.unsupported, "IP version \(first >> 28) in an IPv6 frame") }
        guard payloadLength > 0 else { throw WireError(.unsupported, "IPv6 jumbogram (payload length 0)") }
        guard let payload = view.readSlice(length: Int(payloadLength)) else {
            throw WireError(
                .truncated, "IPv6 payload length \(payloadLength), but \(view.readableBytes) bytes follow the header")
        }
        buffer = view
        return IPv6Packet(
            trafficClass: UInt8(truncatingIfNeeded: first >> 20), flowLabel: first & 0xf_ffff,
            nextHeader: nextHeader, hopLimit: hopLimit, source: source, destination: destination, payload: payload)
    }

    /// Encodes the packet; the payload must fit the 16-bit length field.
    public func encode(into buffer: inout ByteBuffer) {
        precondition(payload.readableBytes <= Int(UInt16.max), "IPv6 payload too long for its length field")
        buffer.writeMultipleIntegers(
            UInt32(6) << 28 | UInt32(trafficClass) << 20 | flowLabel,
            UInt16(payload.readableBytes), nextHeader, hopLimit)
        buffer.writeIPv6Address(source)
        buffer.writeIPv6Address(destination)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    /// The packet in an Ethernet frame.
    public func frame(from source: MACAddress, to destination: MACAddress, vlanTag: UInt16? = nil) -> EthernetFrame {
        var bytes = ByteBuffer()
        encode(into: &bytes)
        return EthernetFrame(
            destination: destination, source: source, vlanTag: vlanTag, etherType: EthernetFrame.ipv6, payload: bytes)
    }

    /// The Ethernet multicast address an IPv6 multicast destination maps to (RFC 2464 §7): 33:33 and its low 32 bits.
    public static func multicastMAC(for address: IPv6Address) -> MACAddress {
        MACAddress(rawValue: 0x3333_0000_0000 | UInt64(truncatingIfNeeded: address.rawValue & 0xffff_ffff))!
    }
}

extension IPv6Address {
    /// `ff02::1`, every node on the link: where unsolicited advertisements and answers to DAD probes go.
    public static let allNodes = IPv6Address(rawValue: UInt128(0xff02) << 112 | 1)
    /// `::`, the source of a DAD probe.
    public static let unspecified = IPv6Address(rawValue: 0)

    public var isMulticast: Bool { rawValue >> 120 == 0xff }
    /// `fe80::/10`.
    public var isLinkLocal: Bool { rawValue >> 118 == 0x3fa }
}
