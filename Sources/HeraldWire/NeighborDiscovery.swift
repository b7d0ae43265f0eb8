public import HeraldCore
public import NIOCore

/// An option of a Neighbour Discovery message (RFC 4861 §4.6).
public enum NDPOption: Hashable, Sendable {
    /// Type 1: the sender's link-layer address.
    case sourceLinkLayerAddress(MACAddress)
    /// Type 2: the target's link-layer address.
    case targetLinkLayerAddress(MACAddress)
    /// Any other option, or a link-layer option that is not 6 bytes: kept as its type and body.
    case other(type: UInt8, body: [UInt8])
}

/// The two Neighbour Discovery messages Herald speaks: solicitations it answers and advertisements it sends.
public enum NDPMessage: Hashable, Sendable {
    case solicitation(NeighborSolicitation)
    case advertisement(NeighborAdvertisement)

    public static let solicitationType: UInt8 = 135
    public static let advertisementType: UInt8 = 136

    public var target: IPv6Address {
        switch self {
        case .solicitation(let message): message.target
        case .advertisement(let message): message.target
        }
    }

    public var options: [NDPOption] {
        switch self {
        case .solicitation(let message): message.options
        case .advertisement(let message): message.options
        }
    }

    /// Decodes the ICMPv6 body of `packet`, checking its checksum over the pseudo-header and the rules of
    /// RFC 4861 §7.1 that concern the bytes: code 0, length, option lengths, a non-multicast target.
    /// Whether to answer (hop limit, source and destination) is the responder's decision.
    public static func decode(from packet: IPv6Packet) throws(WireError) -> NDPMessage {
        guard packet.nextHeader == IPv6Packet.icmpv6 else {
            throw WireError(.unsupported, "next header \(packet.nextHeader), not ICMPv6")
        }
        var view = packet.payload
        guard let (type, code, _, word) = view.readMultipleIntegers(as: (UInt8, UInt8, UInt16, UInt32).self),
            let target = view.readIPv6Address()
        else {
            throw WireError(
                .truncated, "Neighbour Discovery message needs 24 bytes, got \(packet.payload.readableBytes)")
        }
        guard type == solicitationType || type == advertisementType else {
            throw WireError(.unsupported, "ICMPv6 type \(type)")
        }
        guard code == 0 else { throw WireError(.malformed, "ICMPv6 code \(code) in a Neighbour Discovery message") }
        guard checksum(of: packet.payload, source: packet.source, destination: packet.destination) == 0 else {
            throw WireError(.badChecksum, "ICMPv6 checksum does not match")
        }
        guard !target.isMulticast else { throw WireError(.malformed, "target \(target) is a multicast address") }
        let options = try decodeOptions(&view)
        if type == solicitationType {
            return .solicitation(NeighborSolicitation(target: target, options: options))
        }
        return .advertisement(
            NeighborAdvertisement(
                router: word & 1 << 31 != 0, solicited: word & 1 << 30 != 0,
                override: word & 1 << 29 != 0, target: target, options: options))
    }

    private static func decodeOptions(_ view: inout ByteBuffer) throws(WireError) -> [NDPOption] {
        var options: [NDPOption] = []
        while view.readableBytes > 0 {
            guard let (type, units) = view.readMultipleIntegers(as: (UInt8, UInt8).self) else {
                throw WireError(.truncated, "an option header needs 2 bytes, 1 left")
            }
            guard units > 0 else { throw WireError(.malformed, "option \(type) has length 0") }
            guard let body = view.readBytes(length: Int(units) * 8 - 2) else {
                throw WireError(.truncated, "option \(type) of \(Int(units) * 8) bytes, \(view.readableBytes + 2) left")
            }
            switch (type, units) {
            case (1, 1): options.append(.sourceLinkLayerAddress(MACAddress(bytes: body)))
            case (2, 1): options.append(.targetLinkLayerAddress(MACAddress(bytes: body)))
            default: options.append(.other(type: type, body: body))
            }
        }
        return options
    }

    /// The message as an ICMPv6 body with its checksum for the given addresses.
    public func encode(source: IPv6Address, destination: IPv6Address) -> ByteBuffer {
        var body = ByteBuffer()
        let (type, word): (UInt8, UInt32)
        switch self {
        case .solicitation: (type, word) = (Self.solicitationType, 0)
        case .advertisement(let message):
            (type, word) = (
                Self.advertisementType,
                (message.router ? 1 << 31 : 0) | (message.solicited ? 1 << 30 : 0)
                    | (message.override ? 1 << 29 : 0)
            )
        }
        body.writeMultipleIntegers(type, UInt8(0), UInt16(0), word)
        body.writeIPv6Address(target)
        for option in options {
            switch option {
            case .sourceLinkLayerAddress(let mac):
                body.writeMultipleIntegers(UInt8(1), UInt8(1)); body.writeMACAddress(mac)
            case .targetLinkLayerAddress(let mac):
                body.writeMultipleIntegers(UInt8(2), UInt8(1)); body.writeMACAddress(mac)
            case .other(let type, let bytes):
                // Pad to whole 8-byte units; the length field counts them.
                let padded = bytes + Array(repeating: 0, count: (8 - (bytes.count + 2) % 8) % 8)
                body.writeMultipleIntegers(type, UInt8((padded.count + 2) / 8))
                body.writeBytes(padded)
            }
        }
        body.setInteger(Self.checksum(of: body, source: source, destination: destination), at: body.readerIndex + 2)
        return body
    }

    /// The ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and `body`; 0 for a body whose checksum
    /// field is right, the value to store for a body whose checksum field is zero.
    public static func checksum(of body: ByteBuffer, source: IPv6Address, destination: IPv6Address) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(source.rawValue)
        sum.add(destination.rawValue)
        sum.add(UInt32(body.readableBytes))
        sum.add(UInt32(IPv6Packet.icmpv6))
        sum.add(body)
        return sum.value
    }

    /// The message in an IPv6 packet with hop limit 255, as RFC 4861 requires of every ND message.
    public func packet(source: IPv6Address, destination: IPv6Address) -> IPv6Packet {
        IPv6Packet(
            nextHeader: IPv6Packet.icmpv6, hopLimit: 255, source: source, destination: destination,
            payload: encode(source: source, destination: destination))
    }
}

/// "Who has `target`?" — sent to the target's solicited-node group, or unicast to confirm reachability (NUD),
/// or from `::` to check that nobody has it (DAD).
public struct NeighborSolicitation: Hashable, Sendable {
    public var target: IPv6Address
    public var options: [NDPOption]

    public init(target: IPv6Address, options: [NDPOption] = []) {
        self.target = target
        self.options = options
    }

    /// The asker's MAC, when it sent one. A unicast NUD probe may omit it (RFC 4861 §7.2.4); the answer then
    /// goes to the frame's Ethernet source.
    public var sourceLinkLayerAddress: MACAddress? {
        for case .sourceLinkLayerAddress(let mac) in options { return mac }
        return nil
    }
}

/// "`target` is at this MAC."
public struct NeighborAdvertisement: Hashable, Sendable {
    /// R: the sender is a router. Herald never sets it.
    public var router: Bool
    /// S: an answer to a solicitation.
    public var solicited: Bool
    /// O: replace the cached MAC. Herald sets it: it answers only for addresses it owns, and a takeover must win.
    public var override: Bool
    public var target: IPv6Address
    public var options: [NDPOption]

    public init(router: Bool = false, solicited: Bool, override: Bool, target: IPv6Address, options: [NDPOption] = []) {
        self.router = router
        self.solicited = solicited
        self.override = override
        self.target = target
        self.options = options
    }

    public var targetLinkLayerAddress: MACAddress? {
        for case .targetLinkLayerAddress(let mac) in options { return mac }
        return nil
    }
}
