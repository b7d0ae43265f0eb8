public import HeraldCore
import NIOCore

/// An OPEN message (RFC 4271 §4.2) with its capabilities (RFC 5492). Optional parameters other than
/// capabilities are refused (RFC 5492 §3): no BGP implementation in use sends one.
public struct BGPOpen: Hashable, Sendable {
    /// The AS number a 2-octet field carries for a 4-octet AS (RFC 6793 §9).
    public static let asTrans: UInt16 = 23456

    public var version: UInt8
    /// The 2-octet "My Autonomous System"; `asTrans` when the speaker's AS needs 4 octets.
    public var myAutonomousSystem: UInt16
    /// Seconds; 0 means no keepalives and no hold timer.
    public var holdTime: UInt16
    public var identifier: IPv4Address
    public var capabilities: [BGPCapability]

    public init(
        version: UInt8 = 4, myAutonomousSystem: UInt16, holdTime: UInt16, identifier: IPv4Address,
        capabilities: [BGPCapability]
    ) {
        self.version = version
        self.myAutonomousSystem = myAutonomousSystem
        self.holdTime = holdTime
        self.identifier = identifier
        self.capabilities = capabilities
    }

    /// An OPEN from `autonomousSystem`: the 2-octet field holds AS_TRANS when the number needs 4 octets, and the
    /// 4-octet AS capability always carries the real number (RFC 6793 §3).
    public init(
        autonomousSystem: UInt32, holdTime: UInt16, identifier: IPv4Address, capabilities: [BGPCapability]
    ) {
        self.init(
            myAutonomousSystem: UInt16(exactly: autonomousSystem) ?? Self.asTrans, holdTime: holdTime,
            identifier: identifier,
            capabilities: capabilities.contains { if case .fourOctetAS = $0 { true } else { false } }
                ? capabilities : capabilities + [.fourOctetAS(autonomousSystem)])
    }

    /// The sender's AS: the 4-octet AS capability's number if present, otherwise the 2-octet field.
    public var autonomousSystem: UInt32 { fourOctetAS ?? UInt32(myAutonomousSystem) }

    public var fourOctetAS: UInt32? {
        for case .fourOctetAS(let asn) in capabilities { return asn }
        return nil
    }

    /// The families the sender offers. With no multiprotocol capability at all, RFC 4760 §8 says IPv4 unicast.
    public var families: [BGPAddressFamily] {
        let offered = capabilities.compactMap { if case .multiprotocol(let family) = $0 { family } else { nil } }
        return capabilities.contains { if case .multiprotocol = $0 { true } else { false } } ? offered : [.ipv4Unicast]
    }

    public var supportsRouteRefresh: Bool { capabilities.contains(.routeRefresh) }

    public var gracefulRestart: BGPGracefulRestart? {
        for case .gracefulRestart(let restart) in capabilities { return restart }
        return nil
    }

    static let minimumLength = 10  // after the header

    static func decode(body: inout ByteBuffer) throws(BGPMessageError) -> BGPOpen {
        let whole = Array(body.readableBytesView)
        guard
            let (version, myAS, holdTime, identifier, parametersLength) = body.readMultipleIntegers(
                as: (UInt8, UInt16, UInt16, UInt32, UInt8).self)
        else {
            throw BGPMessageError(.messageHeader(.badMessageLength, data: lengthData(19 + whole.count)), "short OPEN")
        }
        guard version == 4 else {
            throw BGPMessageError(
                .openMessage(.unsupportedVersionNumber, data: [0, 4]), "BGP version \(version); only 4 is spoken")
        }
        guard identifier != 0 else {
            throw BGPMessageError(
                .openMessage(.badBGPIdentifier, data: withUnsafeBytes(of: identifier.bigEndian, Array.init)),
                "BGP identifier 0.0.0.0")
        }
        var parameters: ByteBuffer
        var extended = false
        // RFC 9072: a length of 255 followed by type 255 announces 2-octet lengths.
        if parametersLength == 255, body.getInteger(at: body.readerIndex, as: UInt8.self) == 255 {
            guard let (_, length) = body.readMultipleIntegers(as: (UInt8, UInt16).self),
                let slice = body.readSlice(length: Int(length))
            else { throw BGPMessageError(.openMessage(.unspecific), "extended optional parameters are truncated") }
            parameters = slice
            extended = true
        } else {
            guard let slice = body.readSlice(length: Int(parametersLength)) else {
                throw BGPMessageError(
                    .openMessage(.unspecific),
                    "optional parameters length \(parametersLength) exceeds the \(body.readableBytes) bytes left")
            }
            parameters = slice
        }
        guard body.readableBytes == 0 else {
            throw BGPMessageError(
                .openMessage(.unspecific), "\(body.readableBytes) bytes after the OPEN's optional parameters")
        }
        var capabilities: [BGPCapability] = []
        while parameters.readableBytes > 0 {
            guard let type = parameters.readInteger(as: UInt8.self),
                let length = extended
                    ? parameters.readInteger(as: UInt16.self).map(Int.init)
                    : parameters.readInteger(as: UInt8.self).map(Int.init),
                var value = parameters.readSlice(length: length)
            else { throw BGPMessageError(.openMessage(.unspecific), "an optional parameter is truncated") }
            guard type == 2 else {
                throw BGPMessageError(
                    .openMessage(.unsupportedOptionalParameter), "optional parameter type \(type) is not a capability")
            }
            while value.readableBytes > 0 {
                capabilities.append(try BGPCapability.decode(from: &value))
            }
        }
        return BGPOpen(
            version: version, myAutonomousSystem: myAS, holdTime: holdTime,
            identifier: IPv4Address(rawValue: identifier),
            capabilities: capabilities)
    }

    func encode(body: inout ByteBuffer) {
        var capabilityBytes = ByteBuffer()
        for capability in capabilities { capability.encode(into: &capabilityBytes) }
        body.writeMultipleIntegers(version, myAutonomousSystem, holdTime, identifier.rawValue)
        if capabilityBytes.readableBytes + 2 <= 255 {
            // One Capabilities parameter holding them all, as BIRD sends.
            if capabilityBytes.readableBytes == 0 {
                body.writeInteger(UInt8(0))
            } else {
                body.writeMultipleIntegers(UInt8(capabilityBytes.readableBytes + 2), UInt8(2))
                body.writeInteger(UInt8(capabilityBytes.readableBytes))
                body.writeImmutableBuffer(capabilityBytes)
            }
        } else {
            body.writeMultipleIntegers(
                UInt8(255), UInt8(255), UInt16(capabilityBytes.readableBytes + 3), UInt8(2),
                UInt16(capabilityBytes.readableBytes))
            body.writeImmutableBuffer(capabilityBytes)
        }
    }
}

/// One capability of an OPEN (RFC 5492). Ones Herald does not use are kept, byte for byte, and ignored.
public enum BGPCapability: Hashable, Sendable {
    /// RFC 4760: the sender carries this family.
    case multiprotocol(BGPAddressFamily)
    /// RFC 2918.
    case routeRefresh
    /// RFC 6793: the sender's real AS number.
    case fourOctetAS(UInt32)
    /// RFC 4724.
    case gracefulRestart(BGPGracefulRestart)
    case unknown(code: UInt8, value: [UInt8])

    public var code: UInt8 {
        switch self {
        case .multiprotocol: 1
        case .routeRefresh: 2
        case .gracefulRestart: 64
        case .fourOctetAS: 65
        case .unknown(let code, _): code
        }
    }

    static func decode(from buffer: inout ByteBuffer) throws(BGPMessageError) -> BGPCapability {
        guard let (code, length) = buffer.readMultipleIntegers(as: (UInt8, UInt8).self),
            var value = buffer.readSlice(length: Int(length))
        else { throw BGPMessageError(.openMessage(.unspecific), "a capability is truncated") }
        func malformed(_ name: String) -> BGPMessageError {
            BGPMessageError(.openMessage(.unspecific), "\(name) capability of \(length) bytes")
        }
        switch code {
        case 1:
            guard length == 4, let (afi, _, safi) = value.readMultipleIntegers(as: (UInt16, UInt8, UInt8).self) else {
                throw malformed("multiprotocol")
            }
            return .multiprotocol(BGPAddressFamily(afi: afi, safi: safi))
        case 2:
            guard length == 0 else { throw malformed("route refresh") }
            return .routeRefresh
        case 65:
            guard length == 4, let asn = value.readInteger(as: UInt32.self) else { throw malformed("4-octet AS") }
            return .fourOctetAS(asn)
        case 64:
            guard length >= 2, (length - 2) % 4 == 0, let header = value.readInteger(as: UInt16.self) else {
                throw malformed("graceful restart")
            }
            var families: [BGPGracefulRestart.Family] = []
            while let (afi, safi, flags) = value.readMultipleIntegers(as: (UInt16, UInt8, UInt8).self) {
                families.append(
                    .init(family: BGPAddressFamily(afi: afi, safi: safi), forwardingPreserved: flags & 0x80 != 0))
            }
            return .gracefulRestart(
                BGPGracefulRestart(
                    restarting: header & 0x8000 != 0, notification: header & 0x4000 != 0, restartTime: header & 0x0FFF,
                    families: families))
        default:
            return .unknown(code: code, value: Array(value.readableBytesView))
        }
    }

    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .multiprotocol(let family):
            buffer.writeMultipleIntegers(UInt8(1), UInt8(4), family.afi, UInt8(0), family.safi)
        case .routeRefresh:
            buffer.writeMultipleIntegers(UInt8(2), UInt8(0))
        case .fourOctetAS(let asn):
            buffer.writeMultipleIntegers(UInt8(65), UInt8(4), asn)
        case .gracefulRestart(let restart):
            let header =
                (restart.restarting ? 0x8000 : 0) | (restart.notification ? 0x4000 : 0) | (restart.restartTime & 0x0FFF)
            buffer.writeMultipleIntegers(UInt8(64), UInt8(2 + 4 * restart.families.count), UInt16(header))
            for entry in restart.families {
                buffer.writeMultipleIntegers(
                    entry.family.afi, entry.family.safi, UInt8(entry.forwardingPreserved ? 0x80 : 0))
            }
        case .unknown(let code, let value):
            buffer.writeMultipleIntegers(code, UInt8(value.count))
            buffer.writeBytes(value)
        }
    }
}

/// The graceful restart capability (RFC 4724 §3, with RFC 8538's N bit).
public struct BGPGracefulRestart: Hashable, Sendable {
    public struct Family: Hashable, Sendable {
        public var family: BGPAddressFamily
        /// The sender kept this family's forwarding state across its restart.
        public var forwardingPreserved: Bool

        public init(family: BGPAddressFamily, forwardingPreserved: Bool) {
            self.family = family
            self.forwardingPreserved = forwardingPreserved
        }
    }

    /// The R bit: the sender has restarted, so the receiver must not wait for the sender's End-of-RIB before it
    /// advertises its own routes.
    public var restarting: Bool
    /// The N bit (RFC 8538): graceful restart also covers a NOTIFICATION other than Hard Reset.
    public var notification: Bool
    /// Seconds the receiver keeps the sender's routes while it comes back; at most 4095.
    public var restartTime: UInt16
    public var families: [Family]

    public init(restarting: Bool, notification: Bool = false, restartTime: UInt16, families: [Family]) {
        self.restarting = restarting
        self.notification = notification
        self.restartTime = restartTime
        self.families = families
    }
}

func lengthData(_ length: Int) -> [UInt8] {
    [UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
}
