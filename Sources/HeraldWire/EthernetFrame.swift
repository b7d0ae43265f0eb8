public import HeraldCore
public import NIOCore

/// An Ethernet II frame: addresses, an optional 802.1Q tag, the EtherType and the payload.
///
/// A frame that reaches Herald through a VLAN-aware socket may still carry its tag; it is kept so that an answer
/// goes out on the same VLAN.
public struct EthernetFrame: Hashable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    /// The 802.1Q tag control information (priority, DEI, VLAN id), when the frame is tagged.
    public var vlanTag: UInt16?
    public var etherType: UInt16
    public var payload: ByteBuffer

    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86dd
    public static let vlan: UInt16 = 0x8100
    /// Larger than any jumbo frame: such input is not a frame a NIC delivered.
    public static let maximumLength = 9216

    public init(
        destination: MACAddress, source: MACAddress, vlanTag: UInt16? = nil, etherType: UInt16, payload: ByteBuffer
    ) {
        self.destination = destination
        self.source = source
        self.vlanTag = vlanTag
        self.etherType = etherType
        self.payload = payload
    }

    /// The VLAN id (low 12 bits of the tag), if tagged.
    public var vlanID: UInt16? { vlanTag.map { $0 & 0x0fff } }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EthernetFrame {
        guard buffer.readableBytes <= maximumLength else {
            throw WireError(.oversized, "Ethernet frame of \(buffer.readableBytes) bytes exceeds \(maximumLength)")
        }
        var view = buffer
        guard let destination = view.readMACAddress(), let source = view.readMACAddress(),
            var etherType = view.readInteger(as: UInt16.self)
        else {
            throw WireError(.truncated, "Ethernet header needs 14 bytes, got \(buffer.readableBytes)")
        }
        var tag: UInt16?
        if etherType == vlan {
            guard let (tci, inner) = view.readMultipleIntegers(as: (UInt16, UInt16).self) else {
                throw WireError(.truncated, "802.1Q tag needs 4 more bytes, got \(view.readableBytes)")
            }
            guard inner != vlan else { throw WireError(.unsupported, "stacked 802.1Q tags") }
            tag = tci
            etherType = inner
        }
        guard etherType >= 0x0600 else {
            throw WireError(.unsupported, "802.3 length field \(etherType) instead of an EtherType")
        }
        let payload = view.readSlice(length: view.readableBytes)!
        buffer = view
        return EthernetFrame(
            destination: destination, source: source, vlanTag: tag, etherType: etherType, payload: payload)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMACAddress(destination)
        buffer.writeMACAddress(source)
        if let vlanTag { buffer.writeMultipleIntegers(Self.vlan, vlanTag) }
        buffer.writeInteger(etherType)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    /// The frame as bytes, padded to Ethernet's 60-byte minimum (without FCS) as a NIC would.
    public var bytes: [UInt8] {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        if buffer.readableBytes < 60 { buffer.writeRepeatingByte(0, count: 60 - buffer.readableBytes) }
        return Array(buffer.readableBytesView)
    }
}
