public import HeraldCore
import HeraldWire
import NIOCore

/// An UPDATE message (RFC 4271 §4.3): withdrawn IPv4 prefixes, path attributes, and IPv4 prefixes announced
/// with them. IPv6 (and IPv4 where wanted) travels in the MP_REACH_NLRI and MP_UNREACH_NLRI attributes.
public struct BGPUpdate: Hashable, Sendable {
    public var withdrawn: [IPNetwork]
    public var attributes: BGPPathAttributes
    public var announced: [IPNetwork]

    public init(
        withdrawn: [IPNetwork] = [], attributes: BGPPathAttributes = BGPPathAttributes(), announced: [IPNetwork] = []
    ) {
        self.withdrawn = withdrawn
        self.attributes = attributes
        self.announced = announced
    }

    /// The End-of-RIB marker of `family` (RFC 4724 §2): an empty UPDATE for IPv4, an empty MP_UNREACH_NLRI
    /// otherwise.
    public static func endOfRIB(_ family: BGPAddressFamily) -> BGPUpdate {
        family == .ipv4Unicast
            ? BGPUpdate()
            : BGPUpdate(attributes: BGPPathAttributes(multiprotocolUnreach: .init(family: family, prefixes: [])))
    }

    /// The family this UPDATE marks the End-of-RIB of, or `nil` if it is not a marker.
    public var endOfRIB: BGPAddressFamily? {
        guard withdrawn.isEmpty, announced.isEmpty else { return nil }
        if attributes.isEmpty { return .ipv4Unicast }
        if let unreach = attributes.multiprotocolUnreach, unreach.prefixes.isEmpty,
            attributes == BGPPathAttributes(multiprotocolUnreach: unreach)
        {
            return unreach.family
        }
        return nil
    }

    static let minimumLength = 4  // after the header

    static func decode(body: inout ByteBuffer, fourOctetAS: Bool) throws(BGPMessageError) -> BGPUpdate {
        var view = body
        guard let withdrawnLength = view.readInteger(as: UInt16.self),
            var withdrawnBytes = view.readSlice(length: Int(withdrawnLength)),
            let attributesLength = view.readInteger(as: UInt16.self),
            var attributeBytes = view.readSlice(length: Int(attributesLength))
        else {
            throw BGPMessageError(
                .updateMessage(.malformedAttributeList),
                "withdrawn routes and path attribute lengths exceed the UPDATE's \(body.readableBytes) bytes")
        }
        guard let withdrawn = withdrawnBytes.readBGPPrefixes(family: .v4) else {
            throw BGPMessageError(.updateMessage(.invalidNetworkField), "a withdrawn IPv4 prefix is malformed")
        }
        guard let announced = view.readBGPPrefixes(family: .v4) else {
            throw BGPMessageError(.updateMessage(.invalidNetworkField), "an announced IPv4 prefix is malformed")
        }
        let attributes = try BGPPathAttributes.decode(from: &attributeBytes, fourOctetAS: fourOctetAS)
        // RFC 4271 §6.3: the well-known mandatory attributes of a route (RFC 4760 §3: no NEXT_HOP for MP only).
        var required: [BGPPathAttributes.TypeCode] = []
        if !announced.isEmpty || attributes.multiprotocolReach != nil { required += [.origin, .asPath] }
        if !announced.isEmpty { required.append(.nextHop) }
        for code in required {
            let present =
                switch code {
                case .origin: attributes.origin != nil
                case .asPath: attributes.asPath != nil
                default: attributes.nextHop != nil
                }
            guard present else {
                throw BGPMessageError(
                    .updateMessage(.missingWellKnownAttribute, data: [code.rawValue]),
                    "the UPDATE announces routes without the well-known attribute \(code)")
            }
        }
        body = view
        return BGPUpdate(withdrawn: withdrawn, attributes: attributes, announced: announced)
    }

    func encode(body: inout ByteBuffer, fourOctetAS: Bool) {
        let withdrawnStart = body.writerIndex
        body.writeInteger(UInt16(0))
        for prefix in withdrawn { body.writeBGPPrefix(prefix) }
        body.setInteger(UInt16(body.writerIndex - withdrawnStart - 2), at: withdrawnStart)
        let attributesStart = body.writerIndex
        body.writeInteger(UInt16(0))
        attributes.encode(into: &body, fourOctetAS: fourOctetAS)
        body.setInteger(UInt16(body.writerIndex - attributesStart - 2), at: attributesStart)
        for prefix in announced { body.writeBGPPrefix(prefix) }
    }
}

extension BGPPathAttributes {
    static func decode(from buffer: inout ByteBuffer, fourOctetAS: Bool) throws(BGPMessageError) -> BGPPathAttributes {
        var attributes = BGPPathAttributes()
        var seen = Set<UInt8>()
        while buffer.readableBytes > 0 {
            let attributeStart = buffer
            guard let (flags, type) = buffer.readMultipleIntegers(as: (UInt8, UInt8).self),
                let length = flags & Flags.extendedLength != 0
                    ? buffer.readInteger(as: UInt16.self).map(Int.init)
                    : buffer.readInteger(as: UInt8.self).map(Int.init),
                var value = buffer.readSlice(length: length)
            else {
                throw BGPMessageError(
                    .updateMessage(.malformedAttributeList), "a path attribute runs past the attributes' length")
            }
            // The NOTIFICATION of an attribute error carries the attribute (RFC 4271 §6.3).
            let whole = Array(attributeStart.readableBytesView.prefix(buffer.readerIndex - attributeStart.readerIndex))
            guard seen.insert(type).inserted else {
                throw BGPMessageError(
                    .updateMessage(.malformedAttributeList), "path attribute type \(type) appears more than once")
            }
            guard let code = TypeCode(rawValue: type) else {
                guard flags & Flags.optional != 0 else {
                    throw BGPMessageError(
                        .updateMessage(.unrecognizedWellKnownAttribute, data: whole),
                        "unknown well-known path attribute type \(type)")
                }
                attributes.unknown.append(
                    BGPUnknownAttribute(flags: flags, typeCode: type, value: Array(value.readableBytesView)))
                continue
            }
            let required = code.requiredFlags
            let partialAllowed = required == Flags.optional | Flags.transitive
            guard flags & (Flags.optional | Flags.transitive) == required,
                partialAllowed || flags & Flags.partial == 0
            else {
                throw BGPMessageError(
                    .updateMessage(.attributeFlagsError, data: whole),
                    "path attribute \(code) has flags 0x\(String(flags, radix: 16))")
            }
            try attributes.decode(code, value: &value, length: length, whole: whole, fourOctetAS: fourOctetAS)
        }
        return attributes
    }

    private mutating func decode(
        _ code: TypeCode, value: inout ByteBuffer, length: Int, whole: [UInt8], fourOctetAS: Bool
    ) throws(BGPMessageError) {
        func lengthError() -> BGPMessageError {
            BGPMessageError(
                .updateMessage(.attributeLengthError, data: whole), "path attribute \(code) of \(length) bytes")
        }
        switch code {
        case .origin:
            guard length == 1, let raw = value.readInteger(as: UInt8.self) else { throw lengthError() }
            guard let origin = BGPOrigin(rawValue: raw) else {
                throw BGPMessageError(.updateMessage(.invalidOrigin, data: whole), "ORIGIN \(raw)")
            }
            self.origin = origin
        case .asPath:
            guard let path = Self.decodeASPath(&value, fourOctet: fourOctetAS) else {
                throw BGPMessageError(.updateMessage(.malformedASPath), "AS_PATH of \(length) bytes is malformed")
            }
            asPath = path
        case .as4Path:
            // RFC 6793 §6: a malformed AS4_PATH is discarded, not a reason to reset.
            as4Path = Self.decodeASPath(&value, fourOctet: true)
        case .nextHop:
            guard length == 4, let address = value.readIPv4Address() else { throw lengthError() }
            guard address.rawValue != 0, address.rawValue < 0xE000_0000 else {
                throw BGPMessageError(.updateMessage(.invalidNextHop, data: whole), "NEXT_HOP \(address)")
            }
            nextHop = address
        case .multiExitDiscriminator:
            guard length == 4, let number = value.readInteger(as: UInt32.self) else { throw lengthError() }
            multiExitDiscriminator = number
        case .localPreference:
            guard length == 4, let number = value.readInteger(as: UInt32.self) else { throw lengthError() }
            localPreference = number
        case .atomicAggregate:
            guard length == 0 else { throw lengthError() }
            atomicAggregate = true
        case .aggregator:
            guard length == (fourOctetAS ? 8 : 6),
                let asn = fourOctetAS
                    ? value.readInteger(as: UInt32.self) : value.readInteger(as: UInt16.self).map(UInt32.init),
                let address = value.readIPv4Address()
            else { throw lengthError() }
            aggregator = BGPAggregator(autonomousSystem: asn, address: address)
        case .as4Aggregator:
            if length == 8, let asn = value.readInteger(as: UInt32.self), let address = value.readIPv4Address() {
                as4Aggregator = BGPAggregator(autonomousSystem: asn, address: address)
            }
        case .communities:
            guard length > 0, length % 4 == 0 else { throw lengthError() }
            while let raw = value.readInteger(as: UInt32.self) { communities.append(BGPCommunity(rawValue: raw)) }
        case .largeCommunities:
            guard length > 0, length % 12 == 0 else { throw lengthError() }
            while let (global, first, second) = value.readMultipleIntegers(as: (UInt32, UInt32, UInt32).self) {
                largeCommunities.append(BGPLargeCommunity(global, first, second))
            }
        case .multiprotocolReach:
            guard let (afi, safi, nextHopLength) = value.readMultipleIntegers(as: (UInt16, UInt8, UInt8).self),
                var nextHopBytes = value.readSlice(length: Int(nextHopLength)),
                value.readInteger(as: UInt8.self) != nil
            else { throw lengthError() }
            let family = BGPAddressFamily(afi: afi, safi: safi)
            guard let ipFamily = family.unicastFamily else {
                unknown.append(BGPUnknownAttribute(flags: whole[0], typeCode: code.rawValue, value: Self.value(whole)))
                return
            }
            let nextHop: BGPNextHop
            switch (ipFamily, nextHopLength) {
            case (.v4, 4):
                nextHop = .v4(nextHopBytes.readIPv4Address()!)
            case (.v6, 16):
                nextHop = .v6(global: nextHopBytes.readIPv6Address()!, linkLocal: nil)
            case (.v6, 32):
                nextHop = .v6(global: nextHopBytes.readIPv6Address()!, linkLocal: nextHopBytes.readIPv6Address()!)
            default:
                throw BGPMessageError(
                    .updateMessage(.optionalAttributeError, data: whole),
                    "MP_REACH_NLRI next hop of \(nextHopLength) bytes for \(family)")
            }
            guard let prefixes = value.readBGPPrefixes(family: ipFamily) else {
                throw BGPMessageError(
                    .updateMessage(.optionalAttributeError, data: whole), "a prefix in MP_REACH_NLRI is malformed")
            }
            multiprotocolReach = BGPMultiprotocolReach(family: family, nextHop: nextHop, prefixes: prefixes)
        case .multiprotocolUnreach:
            guard let (afi, safi) = value.readMultipleIntegers(as: (UInt16, UInt8).self) else { throw lengthError() }
            let family = BGPAddressFamily(afi: afi, safi: safi)
            guard let ipFamily = family.unicastFamily else {
                unknown.append(BGPUnknownAttribute(flags: whole[0], typeCode: code.rawValue, value: Self.value(whole)))
                return
            }
            guard let prefixes = value.readBGPPrefixes(family: ipFamily) else {
                throw BGPMessageError(
                    .updateMessage(.optionalAttributeError, data: whole), "a prefix in MP_UNREACH_NLRI is malformed")
            }
            multiprotocolUnreach = BGPMultiprotocolUnreach(family: family, prefixes: prefixes)
        }
    }

    /// The value bytes of a whole attribute (flags, type, length, value).
    private static func value(_ whole: [UInt8]) -> [UInt8] {
        Array(whole[(whole[0] & Flags.extendedLength != 0 ? 4 : 3)...])
    }

    private static func decodeASPath(_ value: inout ByteBuffer, fourOctet: Bool) -> [BGPASPathSegment]? {
        var segments: [BGPASPathSegment] = []
        while value.readableBytes > 0 {
            guard let (rawKind, count) = value.readMultipleIntegers(as: (UInt8, UInt8).self),
                let kind = BGPASPathSegment.Kind(rawValue: rawKind), count > 0
            else { return nil }
            var asns: [UInt32] = []
            asns.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard
                    let asn = fourOctet
                        ? value.readInteger(as: UInt32.self) : value.readInteger(as: UInt16.self).map(UInt32.init)
                else { return nil }
                asns.append(asn)
            }
            segments.append(BGPASPathSegment(kind, asns))
        }
        return segments
    }

    /// Writes the attributes in type-code order, each with the flags its RFC gives it and the extended length
    /// bit only when the value needs it. On a session without 4-octet AS, numbers above 65535 go as AS_TRANS.
    func encode(into buffer: inout ByteBuffer, fourOctetAS: Bool) {
        var entries: [(type: UInt8, flags: UInt8, value: ByteBuffer)] = []
        func add(_ code: TypeCode, _ write: (inout ByteBuffer) -> Void) {
            var value = ByteBuffer()
            write(&value)
            entries.append((code.rawValue, code.requiredFlags, value))
        }
        func writeASN(_ asn: UInt32, into value: inout ByteBuffer, fourOctet: Bool) {
            if fourOctet {
                value.writeInteger(asn)
            } else {
                value.writeInteger(UInt16(exactly: asn) ?? BGPOpen.asTrans)
            }
        }
        func writePath(_ path: [BGPASPathSegment], into value: inout ByteBuffer, fourOctet: Bool) {
            for segment in path {
                value.writeMultipleIntegers(segment.kind.rawValue, UInt8(segment.asns.count))
                for asn in segment.asns { writeASN(asn, into: &value, fourOctet: fourOctet) }
            }
        }
        if let origin { add(.origin) { $0.writeInteger(origin.rawValue) } }
        if let asPath { add(.asPath) { writePath(asPath, into: &$0, fourOctet: fourOctetAS) } }
        if let nextHop { add(.nextHop) { $0.writeIPv4Address(nextHop) } }
        if let multiExitDiscriminator { add(.multiExitDiscriminator) { $0.writeInteger(multiExitDiscriminator) } }
        if let localPreference { add(.localPreference) { $0.writeInteger(localPreference) } }
        if atomicAggregate { add(.atomicAggregate) { _ in } }
        if let aggregator {
            add(.aggregator) {
                writeASN(aggregator.autonomousSystem, into: &$0, fourOctet: fourOctetAS)
                $0.writeIPv4Address(aggregator.address)
            }
        }
        if !communities.isEmpty {
            add(.communities) { for community in communities { $0.writeInteger(community.rawValue) } }
        }
        if let reach = multiprotocolReach {
            add(.multiprotocolReach) {
                $0.writeMultipleIntegers(reach.family.afi, reach.family.safi)
                switch reach.nextHop {
                case .v4(let address):
                    $0.writeInteger(UInt8(4))
                    $0.writeIPv4Address(address)
                case .v6(let global, let linkLocal):
                    $0.writeInteger(UInt8(linkLocal == nil ? 16 : 32))
                    $0.writeIPv6Address(global)
                    if let linkLocal { $0.writeIPv6Address(linkLocal) }
                }
                $0.writeInteger(UInt8(0))
                for prefix in reach.prefixes { $0.writeBGPPrefix(prefix) }
            }
        }
        if let unreach = multiprotocolUnreach {
            add(.multiprotocolUnreach) {
                $0.writeMultipleIntegers(unreach.family.afi, unreach.family.safi)
                for prefix in unreach.prefixes { $0.writeBGPPrefix(prefix) }
            }
        }
        if let as4Path { add(.as4Path) { writePath(as4Path, into: &$0, fourOctet: true) } }
        if let as4Aggregator {
            add(.as4Aggregator) {
                $0.writeInteger(as4Aggregator.autonomousSystem)
                $0.writeIPv4Address(as4Aggregator.address)
            }
        }
        if !largeCommunities.isEmpty {
            add(.largeCommunities) {
                for community in largeCommunities {
                    $0.writeMultipleIntegers(community.globalAdministrator, community.localData1, community.localData2)
                }
            }
        }
        for attribute in unknown {
            entries.append((attribute.typeCode, attribute.flags, ByteBuffer(bytes: attribute.value)))
        }
        for entry in entries.sorted(by: { $0.type < $1.type }) {
            if entry.value.readableBytes > 255 {
                buffer.writeMultipleIntegers(
                    entry.flags | Flags.extendedLength, entry.type, UInt16(entry.value.readableBytes))
            } else {
                buffer.writeMultipleIntegers(entry.flags, entry.type, UInt8(entry.value.readableBytes))
            }
            buffer.writeImmutableBuffer(entry.value)
        }
    }
}
