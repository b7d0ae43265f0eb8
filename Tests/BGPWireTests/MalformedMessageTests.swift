@testable import BGPWire
import HeraldCore
import NIOCore
import Testing

/// Each malformed message throws the NOTIFICATION RFC 4271 §6 (or the RFC of the part) names, and reads
/// nothing.
@Suite struct MalformedMessageTests {
    typealias G = GoldenMessages

    /// A message of `type` with `body`, its header's length computed unless `length` overrides it.
    static func message(type: UInt8, body: [UInt8], length: Int? = nil) -> [UInt8] {
        let total = length ?? 19 + body.count
        return [UInt8](repeating: 0xFF, count: 16) + [UInt8(total >> 8), UInt8(total & 0xFF), type] + body
    }

    /// An UPDATE with no withdrawn routes, the given attribute bytes, and `nlri`.
    static func update(attributes: [UInt8], nlri: [UInt8] = []) -> [UInt8] {
        message(type: 2, body: [0, 0, UInt8(attributes.count >> 8), UInt8(attributes.count & 0xFF)] + attributes + nlri)
    }

    static let origin: [UInt8] = [0x40, 1, 1, 0]
    static let asPath: [UInt8] = [0x40, 2, 6, 2, 1, 0, 0, 0xFC, 0]
    static let nextHop: [UInt8] = [0x40, 3, 4, 192, 0, 2, 1]
    static let hostRoute: [UInt8] = [32, 203, 0, 113, 10]

    static func expectError(
        _ bytes: [UInt8], _ expected: BGPNotification, fourOctetAS: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            let message = try BGPMessage.decode(from: &buffer, fourOctetAS: fourOctetAS)
            Issue.record("decoded \(String(describing: message)), expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.notification == expected, "\(error.detail)", sourceLocation: sourceLocation)
            #expect(buffer.readableBytes == bytes.count, "nothing read", sourceLocation: sourceLocation)
        }
    }

    @Test func headerErrors() {
        var badMarker = G.bytes("keepalive")
        badMarker[3] = 0
        Self.expectError(badMarker, .messageHeader(.connectionNotSynchronized))
        Self.expectError(Self.message(type: 4, body: [], length: 18), .messageHeader(.badMessageLength, data: [0, 18]))
        Self.expectError(Self.message(type: 4, body: [], length: 4097), .messageHeader(.badMessageLength, data: [0x10, 1]))
        Self.expectError(Self.message(type: 4, body: [0]), .messageHeader(.badMessageLength, data: [0, 20]))
        Self.expectError(Self.message(type: 1, body: [4, 0, 1]), .messageHeader(.badMessageLength, data: [0, 22]))
        Self.expectError(Self.message(type: 2, body: [0, 0]), .messageHeader(.badMessageLength, data: [0, 21]))
        Self.expectError(Self.message(type: 3, body: [6]), .messageHeader(.badMessageLength, data: [0, 20]))
        Self.expectError(Self.message(type: 9, body: []), .messageHeader(.badMessageType, data: [9]))
        let shortRefresh = Self.message(type: 5, body: [0, 1, 0])
        Self.expectError(shortRefresh, BGPNotification(code: 7, subcode: 1, data: shortRefresh))
    }

    @Test func openErrors() {
        let open = G.bytes("openTwoOctet")
        var version3 = open
        version3[19] = 3
        Self.expectError(version3, .openMessage(.unsupportedVersionNumber, data: [0, 4]))
        var zeroIdentifier = open
        zeroIdentifier[24...27] = [0, 0, 0, 0]
        Self.expectError(zeroIdentifier, .openMessage(.badBGPIdentifier, data: [0, 0, 0, 0]))
        var authentication = open
        authentication[29] = 1  // optional parameter type 1: the long-deprecated authentication information
        Self.expectError(authentication, .openMessage(.unsupportedOptionalParameter))
        var longParameters = open
        longParameters[28] += 1
        Self.expectError(longParameters, .openMessage(.unspecific))
        var badCapability = open
        badCapability[32] = 3  // multiprotocol capability of 3 bytes
        Self.expectError(badCapability, .openMessage(.unspecific))
        let fourOctetShort = Self.message(type: 1, body: [4, 0xFC, 0, 0, 90, 192, 0, 2, 1, 5, 2, 3, 65, 1, 0])
        Self.expectError(fourOctetShort, .openMessage(.unspecific))
    }

    @Test func attributeListErrors() {
        // Withdrawn routes length past the end.
        Self.expectError(Self.message(type: 2, body: [0, 9, 0, 0]), .updateMessage(.malformedAttributeList))
        // An attribute whose length runs past the attributes.
        Self.expectError(Self.update(attributes: [0x40, 1, 5, 0]), .updateMessage(.malformedAttributeList))
        // The same attribute twice.
        Self.expectError(Self.update(attributes: Self.origin + Self.origin), .updateMessage(.malformedAttributeList))
        // A well-known attribute Herald does not know (type 99 without the optional bit).
        let unknownWellKnown: [UInt8] = [0x40, 99, 1, 0]
        Self.expectError(
            Self.update(attributes: unknownWellKnown), .updateMessage(.unrecognizedWellKnownAttribute, data: unknownWellKnown))
        // An unknown optional attribute is kept.
        guard case .update(let update) = try? decodeOne(Self.update(attributes: [0xC0, 99, 2, 1, 2])) else {
            Issue.record("an unknown optional attribute was refused")
            return
        }
        #expect(update.attributes.unknown == [BGPUnknownAttribute(flags: 0xC0, typeCode: 99, value: [1, 2])])
    }

    @Test func missingWellKnownAttributes() {
        Self.expectError(
            Self.update(attributes: Self.asPath + Self.nextHop, nlri: Self.hostRoute),
            .updateMessage(.missingWellKnownAttribute, data: [1]))
        Self.expectError(
            Self.update(attributes: Self.origin + Self.nextHop, nlri: Self.hostRoute),
            .updateMessage(.missingWellKnownAttribute, data: [2]))
        Self.expectError(
            Self.update(attributes: Self.origin + Self.asPath, nlri: Self.hostRoute),
            .updateMessage(.missingWellKnownAttribute, data: [3]))
        // Attributes without routes need none of them.
        #expect((try? decodeOne(Self.update(attributes: [0x40, 5, 4, 0, 0, 0, 100]))) != nil)
    }

    @Test func attributeValueErrors() {
        let badFlags: [UInt8] = [0x80, 1, 1, 0]  // ORIGIN marked optional
        Self.expectError(Self.update(attributes: badFlags), .updateMessage(.attributeFlagsError, data: badFlags))
        let partialWellKnown: [UInt8] = [0x60, 1, 1, 0]
        Self.expectError(
            Self.update(attributes: partialWellKnown), .updateMessage(.attributeFlagsError, data: partialWellKnown))
        let longOrigin: [UInt8] = [0x40, 1, 2, 0, 0]
        Self.expectError(Self.update(attributes: longOrigin), .updateMessage(.attributeLengthError, data: longOrigin))
        let badOrigin: [UInt8] = [0x40, 1, 1, 3]
        Self.expectError(Self.update(attributes: badOrigin), .updateMessage(.invalidOrigin, data: badOrigin))
        let zeroNextHop: [UInt8] = [0x40, 3, 4, 0, 0, 0, 0]
        Self.expectError(Self.update(attributes: zeroNextHop), .updateMessage(.invalidNextHop, data: zeroNextHop))
        let multicastNextHop: [UInt8] = [0x40, 3, 4, 224, 0, 0, 1]
        Self.expectError(
            Self.update(attributes: multicastNextHop), .updateMessage(.invalidNextHop, data: multicastNextHop))
        let emptySegment: [UInt8] = [0x40, 2, 2, 2, 0]
        Self.expectError(Self.update(attributes: emptySegment), .updateMessage(.malformedASPath))
        let segmentType9: [UInt8] = [0x40, 2, 6, 9, 1, 0, 0, 0xFC, 0]
        Self.expectError(Self.update(attributes: segmentType9), .updateMessage(.malformedASPath))
        let shortSegment: [UInt8] = [0x40, 2, 4, 2, 1, 0xFC, 0]  // a 2-octet AS on a 4-octet session
        Self.expectError(Self.update(attributes: shortSegment), .updateMessage(.malformedASPath))
        let oddCommunities: [UInt8] = [0xC0, 8, 3, 0, 1, 2]
        Self.expectError(Self.update(attributes: oddCommunities), .updateMessage(.attributeLengthError, data: oddCommunities))
        let shortLarge: [UInt8] = [0xC0, 32, 8, 0, 0, 0, 1, 0, 0, 0, 2]
        Self.expectError(Self.update(attributes: shortLarge), .updateMessage(.attributeLengthError, data: shortLarge))
        let aggregator6On4Octet: [UInt8] = [0xC0, 7, 6, 0xFC, 0, 192, 0, 2, 1]
        Self.expectError(
            Self.update(attributes: aggregator6On4Octet), .updateMessage(.attributeLengthError, data: aggregator6On4Octet))
        #expect((try? decodeOne(Self.update(attributes: aggregator6On4Octet), fourOctetAS: false)) != nil)
    }

    @Test func networkFieldErrors() {
        Self.expectError(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop, nlri: [33, 203, 0, 113, 10, 0]),
            .updateMessage(.invalidNetworkField))
        Self.expectError(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop, nlri: [32, 203, 0]),
            .updateMessage(.invalidNetworkField))
        Self.expectError(Self.message(type: 2, body: [0, 2, 24, 203, 0, 0]), .updateMessage(.invalidNetworkField))
        // MP_REACH_NLRI for IPv6 with a 4-byte next hop, and one with a prefix of 129 bits.
        let badNextHop: [UInt8] = [0x80, 14, 9, 0, 2, 1, 4, 192, 0, 2, 1, 0]
        Self.expectError(
            Self.update(attributes: Self.origin + Self.asPath + badNextHop),
            .updateMessage(.optionalAttributeError, data: badNextHop))
        let longPrefix: [UInt8] = [0x80, 14, 22, 0, 2, 1, 16] + [UInt8](repeating: 0x20, count: 16) + [0, 129]
        Self.expectError(
            Self.update(attributes: Self.origin + Self.asPath + longPrefix),
            .updateMessage(.optionalAttributeError, data: longPrefix))
        // A family Herald does not route is kept as an unknown attribute, not refused.
        let vpn: [UInt8] = [0x80, 14, 9, 0, 1, 128, 4, 192, 0, 2, 1, 0]
        guard case .update(let update) = try? decodeOne(Self.update(attributes: Self.origin + Self.asPath + vpn)) else {
            Issue.record("an MP_REACH_NLRI of another family was refused")
            return
        }
        #expect(update.attributes.multiprotocolReach == nil && update.attributes.unknown.first?.typeCode == 14)
    }

    /// RFC 6793 §6: a malformed AS4_PATH is dropped, the UPDATE kept.
    @Test func malformedAS4PathIsDiscarded() throws {
        let brokenAS4Path: [UInt8] = [0xC0, 17, 3, 2, 1, 0]
        let bytes = Self.update(attributes: Self.origin + Self.asPath + Self.nextHop + brokenAS4Path, nlri: Self.hostRoute)
        guard case .update(let update) = try decodeOne(bytes) else { Issue.record("not an UPDATE"); return }
        #expect(update.attributes.as4Path == nil && update.announced == [network("203.0.113.10/32")])
    }
}
