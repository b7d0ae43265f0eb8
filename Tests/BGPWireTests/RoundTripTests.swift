@testable import BGPWire
import HeraldCore
import NIOCore
import PropertyBased
import SeededRandom
import Testing

/// Random messages of every kind encode to bytes that decode to the same message, on sessions with and without
/// 4-octet AS; and the packer splits any number of routes into UPDATEs that fit and lose none.
@Suite struct RoundTripTests {
    struct MessageMaker {
        var random: SeededGenerator

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        mutating func bool() -> Bool { Bool.random(using: &random) }
        mutating func uint32() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &random) }

        mutating func prefix(_ family: IPFamily) -> IPNetwork {
            let value = UInt128(random.next()) << 64 | UInt128(random.next())
            let address = IPAddress(family: family, value: family == .v4 ? value & 0xFFFF_FFFF : value)!
            return IPNetwork(containing: address, prefixLength: int(0...family.bitWidth))
        }

        mutating func ipv6Address() -> IPv6Address { IPv6Address(rawValue: UInt128(random.next()) << 64 | UInt128(random.next())) }

        mutating func prefixes(_ family: IPFamily) -> [IPNetwork] { (0..<int(0...20)).map { _ in prefix(family) } }

        mutating func asn(fourOctet: Bool) -> UInt32 { fourOctet ? uint32() : UInt32(int(0...0xFFFF)) }

        mutating func path(fourOctet: Bool) -> [BGPASPathSegment] {
            (0..<int(0...3)).map { _ in
                BGPASPathSegment(
                    BGPASPathSegment.Kind(rawValue: UInt8(int(1...4)))!,
                    (0..<int(1...12)).map { _ in asn(fourOctet: fourOctet) })
            }
        }

        mutating func update(fourOctet: Bool) -> BGPUpdate {
            var attributes = BGPPathAttributes()
            let announced = bool() ? prefixes(.v4) : []
            if !announced.isEmpty || bool() {
                attributes.origin = BGPOrigin(rawValue: UInt8(int(0...2)))
                attributes.asPath = path(fourOctet: fourOctet)
                attributes.nextHop = IPv4Address(rawValue: UInt32(int(1...0xDFFF_FFFF)))
            }
            if bool() { attributes.multiExitDiscriminator = uint32() }
            if bool() { attributes.localPreference = uint32() }
            attributes.atomicAggregate = bool()
            if bool() {
                attributes.aggregator = BGPAggregator(
                    autonomousSystem: asn(fourOctet: fourOctet), address: IPv4Address(rawValue: uint32()))
            }
            attributes.communities = (0..<int(0...5)).map { _ in BGPCommunity(rawValue: uint32()) }
            attributes.largeCommunities = (0..<int(0...3)).map { _ in BGPLargeCommunity(uint32(), uint32(), uint32()) }
            if bool() {
                let family: IPFamily = bool() ? .v4 : .v6
                let nextHop: BGPNextHop =
                    family == .v4
                    ? .v4(IPv4Address(rawValue: uint32()))
                    : .v6(global: ipv6Address(), linkLocal: bool() ? ipv6Address() : nil)
                attributes.multiprotocolReach = BGPMultiprotocolReach(
                    family: BGPAddressFamily(unicast: family), nextHop: nextHop, prefixes: prefixes(family))
                if attributes.origin == nil {
                    attributes.origin = .igp
                    attributes.asPath = []
                }
            }
            if bool() {
                let family: IPFamily = bool() ? .v4 : .v6
                attributes.multiprotocolUnreach = .init(family: BGPAddressFamily(unicast: family), prefixes: prefixes(family))
            }
            if bool() { attributes.as4Path = path(fourOctet: true) }
            if bool() {
                attributes.as4Aggregator = BGPAggregator(autonomousSystem: uint32(), address: IPv4Address(rawValue: uint32()))
            }
            for type in [UInt8(40), 99, 200] where bool() {
                let flags: UInt8 = [0x80, 0xC0, 0xE0][int(0...2)]
                attributes.unknown.append(
                    BGPUnknownAttribute(flags: flags, typeCode: type, value: (0..<int(0...300)).map { _ in UInt8(int(0...255)) }))
            }
            return BGPUpdate(withdrawn: bool() ? prefixes(.v4) : [], attributes: attributes, announced: announced)
        }

        mutating func open() -> BGPOpen {
            var capabilities: [BGPCapability] = []
            for _ in 0..<int(0...8) {
                switch int(0...4) {
                case 0: capabilities.append(.multiprotocol(BGPAddressFamily(afi: UInt16(int(1...3)), safi: UInt8(int(1...2)))))
                case 1: capabilities.append(.routeRefresh)
                case 2: capabilities.append(.fourOctetAS(uint32()))
                case 3:
                    capabilities.append(
                        .gracefulRestart(
                            BGPGracefulRestart(
                                restarting: bool(), notification: bool(), restartTime: UInt16(int(0...4095)),
                                families: (0..<int(0...2)).map { _ in
                                    .init(family: bool() ? .ipv4Unicast : .ipv6Unicast, forwardingPreserved: bool())
                                })))
                default:
                    capabilities.append(
                        .unknown(code: UInt8(int(66...255)), value: (0..<int(0...60)).map { _ in UInt8(int(0...255)) }))
                }
            }
            return BGPOpen(
                myAutonomousSystem: UInt16(int(0...0xFFFF)), holdTime: UInt16(int(0...0xFFFF)),
                identifier: IPv4Address(rawValue: UInt32(int(1...Int(UInt32.max)))), capabilities: capabilities)
        }

        mutating func message(fourOctet: Bool) -> BGPMessage {
            switch int(0...4) {
            case 0: .open(open())
            case 1: .update(update(fourOctet: fourOctet))
            case 2:
                .notification(
                    BGPNotification(
                        code: UInt8(int(0...255)), subcode: UInt8(int(0...255)),
                        data: (0..<int(0...40)).map { _ in UInt8(int(0...255)) }))
            case 3: .keepalive
            default: .routeRefresh(BGPRouteRefresh(family: bool() ? .ipv4Unicast : .ipv6Unicast, subtype: UInt8(int(0...2))))
            }
        }
    }

    @Test func everyMessageRoundTrips() async {
        await propertyCheck(count: 500, input: Gen<UInt64>.uint64(), Gen<Bool>.bool) { seed, fourOctet in
            var maker = MessageMaker(random: SeededGenerator(seed: seed))
            let message = maker.message(fourOctet: fourOctet)
            var bytes = message.encoded(fourOctetAS: fourOctet)
            let length = bytes.readableBytes
            do {
                let decoded = try BGPMessage.decode(from: &bytes, fourOctetAS: fourOctet)
                #expect(decoded == message, "\(message) → \(length) bytes")
            } catch {
                Issue.record("\(message) → \(length) bytes did not decode: \(error)")
            }
            #expect(bytes.readableBytes == 0)
        }
    }

    @Test func packedUpdatesFitAndLoseNoRoute() throws {
        var maker = MessageMaker(random: SeededGenerator(seed: 7))
        for family in IPFamily.allCases {
            let prefixes = (0..<10_000).map { _ in maker.prefix(family) }
            let nextHop: BGPNextHop =
                family == .v4 ? .v4(IPv4Address(192, 0, 2, 1)) : .v6(global: ipv6("2001:db8::1"), linkLocal: nil)
            var attributes = BGPPathAttributes(origin: .igp, asPath: [.sequence([64512])])
            attributes.communities = [BGPCommunity(64512, 1)]
            let updates = BGPUpdatePacker.announcements(
                prefixes, family: BGPAddressFamily(unicast: family), nextHop: nextHop, attributes: attributes,
                fourOctetAS: true)
            var announced: [IPNetwork] = []
            for update in updates {
                let bytes = BGPMessage.update(update).encoded(fourOctetAS: true)
                #expect(bytes.readableBytes <= BGPMessage.maximumLength)
                guard case .update(let decoded) = try decodeOne(Array(bytes.readableBytesView)) else { continue }
                announced += decoded.announced + (decoded.attributes.multiprotocolReach?.prefixes ?? [])
                #expect(decoded.attributes.communities == [BGPCommunity(64512, 1)])
            }
            #expect(announced == prefixes)
            // A /32 costs 5 bytes and a /128 17: the packer fills each UPDATE to within one prefix of the limit.
            #expect(updates.count <= (prefixes.count * (family == .v4 ? 4 : 16)) / 3900 + 2)

            let withdrawals = BGPUpdatePacker.withdrawals(prefixes, family: BGPAddressFamily(unicast: family))
            var withdrawn: [IPNetwork] = []
            for update in withdrawals {
                let bytes = BGPMessage.update(update).encoded(fourOctetAS: true)
                #expect(bytes.readableBytes <= BGPMessage.maximumLength)
                guard case .update(let decoded) = try decodeOne(Array(bytes.readableBytesView)) else { continue }
                withdrawn += decoded.withdrawn + (decoded.attributes.multiprotocolUnreach?.prefixes ?? [])
            }
            #expect(withdrawn == prefixes)
        }
        #expect(BGPUpdatePacker.announcements([], family: .ipv4Unicast, nextHop: .v4(IPv4Address(192, 0, 2, 1)),
                                              attributes: BGPPathAttributes(), fourOctetAS: true).isEmpty)
    }
}
