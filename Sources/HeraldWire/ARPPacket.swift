public import HeraldCore
public import NIOCore

/// An ARP packet for IPv4 over Ethernet (RFC 826).
public struct ARPPacket: Hashable, Sendable {
    public enum Operation: UInt16, Hashable, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public init(
        operation: Operation, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address
    ) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    public static let length = 28

    /// A packet announcing the sender's own mapping: sender and target IP are the same. It is how a new owner
    /// tells the LAN to update its caches (RFC 5227 §3 calls the request form an ARP Announcement).
    public var isGratuitous: Bool { senderIP == targetIP }

    /// An ARP probe (RFC 5227): a request from 0.0.0.0 checking whether an address is taken.
    public var isProbe: Bool { operation == .request && senderIP.rawValue == 0 }

    /// "Who has `ip`? Tell `senderIP`."
    public static func request(for ip: IPv4Address, from mac: MACAddress, ip senderIP: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request, senderMAC: mac, senderIP: senderIP, targetMAC: .zero, targetIP: ip)
    }

    /// The answer to `request`: `ip` is at `mac`, sent to the asker.
    public static func reply(to request: ARPPacket, mac: MACAddress) -> ARPPacket {
        ARPPacket(
            operation: .reply, senderMAC: mac, senderIP: request.targetIP, targetMAC: request.senderMAC,
            targetIP: request.senderIP)
    }

    /// A gratuitous ARP for `ip` at `mac`, in request form (target MAC zero) or reply form (target MAC broadcast);
    /// Herald sends both, since some hosts heed only one.
    public static func gratuitous(_ ip: IPv4Address, at mac: MACAddress, operation: Operation) -> ARPPacket {
        ARPPacket(
            operation: operation, senderMAC: mac, senderIP: ip, targetMAC: operation == .request ? .zero : .broadcast,
            targetIP: ip)
    }

    /// Decodes 28 bytes of Ethernet/IPv4 ARP; trailing padding is left in the buffer.
    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ARPPacket {
        var view = buffer
        guard
            let (htype, ptype, hlen, plen, op) = view.readMultipleIntegers(
                as: (UInt16, UInt16, UInt8, UInt8, UInt16).self),
            let senderMAC = view.readMACAddress(), let senderIP = view.readIPv4Address(),
            let targetMAC = view.readMACAddress(), let targetIP = view.readIPv4Address()
        else {
            throw WireError(.truncated, "ARP needs \(length) bytes, got \(buffer.readableBytes)")
        }
        guard htype == 1, ptype == 0x0800, hlen == 6, plen == 4 else {
            throw WireError(
                .unsupported,
                "ARP for hardware type \(htype), protocol 0x\(String(ptype, radix: 16)), "
                    + "lengths \(hlen)/\(plen); only Ethernet/IPv4"
            )
        }
        guard let operation = Operation(rawValue: op) else { throw WireError(.unsupported, "ARP operation \(op)") }
        buffer = view
        return ARPPacket(
            operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC, targetIP: targetIP)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(UInt16(1), UInt16(0x0800), UInt8(6), UInt8(4), operation.rawValue)
        buffer.writeMACAddress(senderMAC)
        buffer.writeIPv4Address(senderIP)
        buffer.writeMACAddress(targetMAC)
        buffer.writeIPv4Address(targetIP)
    }

    /// The packet in an Ethernet frame to `destination`, from `senderMAC`.
    public func frame(to destination: MACAddress, vlanTag: UInt16? = nil) -> EthernetFrame {
        var payload = ByteBuffer()
        encode(into: &payload)
        return EthernetFrame(
            destination: destination, source: senderMAC, vlanTag: vlanTag, etherType: EthernetFrame.arp,
            payload: payload)
    }
}
