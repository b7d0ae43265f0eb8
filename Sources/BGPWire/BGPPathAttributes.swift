public import HeraldCore
import HeraldWire

/// The path attributes of an UPDATE (RFC 4271 §5 and the RFCs that add attributes). A well-known attribute
/// is `nil` or empty when absent; attributes Herald does not know are kept as they came.
public struct BGPPathAttributes: Hashable, Sendable {
    public var origin: BGPOrigin?
    public var asPath: [BGPASPathSegment]?
    public var nextHop: IPv4Address?
    public var multiExitDiscriminator: UInt32?
    public var localPreference: UInt32?
    public var atomicAggregate: Bool
    public var aggregator: BGPAggregator?
    /// RFC 1997.
    public var communities: [BGPCommunity]
    /// RFC 4760: routes of a family other than classic IPv4.
    public var multiprotocolReach: BGPMultiprotocolReach?
    public var multiprotocolUnreach: BGPMultiprotocolUnreach?
    /// RFC 6793: the real path beside an AS_PATH of AS_TRANS, between speakers without 4-octet AS.
    public var as4Path: [BGPASPathSegment]?
    public var as4Aggregator: BGPAggregator?
    /// RFC 8092.
    public var largeCommunities: [BGPLargeCommunity]
    /// Optional attributes Herald does not interpret, in the order received.
    public var unknown: [BGPUnknownAttribute]

    public init(
        origin: BGPOrigin? = nil, asPath: [BGPASPathSegment]? = nil, nextHop: IPv4Address? = nil,
        multiExitDiscriminator: UInt32? = nil, localPreference: UInt32? = nil, atomicAggregate: Bool = false,
        aggregator: BGPAggregator? = nil, communities: [BGPCommunity] = [],
        multiprotocolReach: BGPMultiprotocolReach? = nil, multiprotocolUnreach: BGPMultiprotocolUnreach? = nil,
        as4Path: [BGPASPathSegment]? = nil, as4Aggregator: BGPAggregator? = nil,
        largeCommunities: [BGPLargeCommunity] = [], unknown: [BGPUnknownAttribute] = []
    ) {
        self.origin = origin
        self.asPath = asPath
        self.nextHop = nextHop
        self.multiExitDiscriminator = multiExitDiscriminator
        self.localPreference = localPreference
        self.atomicAggregate = atomicAggregate
        self.aggregator = aggregator
        self.communities = communities
        self.multiprotocolReach = multiprotocolReach
        self.multiprotocolUnreach = multiprotocolUnreach
        self.as4Path = as4Path
        self.as4Aggregator = as4Aggregator
        self.largeCommunities = largeCommunities
        self.unknown = unknown
    }

    public var isEmpty: Bool { self == BGPPathAttributes() }

    /// Sets AS_PATH for a session with or without 4-octet AS: without it, a path that holds 4-octet numbers goes
    /// as AS_TRANS in AS_PATH with the real path in AS4_PATH (RFC 6793 §4.2.2).
    public mutating func setASPath(_ path: [BGPASPathSegment], fourOctetAS: Bool) {
        asPath = path
        as4Path = !fourOctetAS && path.contains { $0.asns.contains { $0 > 0xFFFF } } ? path : nil
    }

    /// Type codes (IANA "BGP Path Attributes").
    public enum TypeCode: UInt8, Sendable {
        case origin = 1
        case asPath = 2
        case nextHop = 3
        case multiExitDiscriminator = 4
        case localPreference = 5
        case atomicAggregate = 6
        case aggregator = 7
        case communities = 8
        case multiprotocolReach = 14
        case multiprotocolUnreach = 15
        case as4Path = 17
        case as4Aggregator = 18
        case largeCommunities = 32

        /// The optional and transitive flag bits the attribute must carry (RFC 4271 §5 and each attribute's RFC).
        var requiredFlags: UInt8 {
            switch self {
            case .origin, .asPath, .nextHop, .localPreference, .atomicAggregate: Flags.transitive
            case .multiExitDiscriminator, .multiprotocolReach, .multiprotocolUnreach: Flags.optional
            case .aggregator, .communities, .as4Path, .as4Aggregator, .largeCommunities:
                Flags.optional | Flags.transitive
            }
        }
    }

    enum Flags {
        static let optional: UInt8 = 0x80
        static let transitive: UInt8 = 0x40
        static let partial: UInt8 = 0x20
        static let extendedLength: UInt8 = 0x10
    }
}

public enum BGPOrigin: UInt8, Hashable, Sendable {
    case igp = 0
    case egp = 1
    case incomplete = 2
}

/// One segment of an AS_PATH or AS4_PATH: at most 255 AS numbers.
public struct BGPASPathSegment: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        case set = 1
        case sequence = 2
        case confederationSequence = 3
        case confederationSet = 4
    }

    public var kind: Kind
    public var asns: [UInt32]

    public init(_ kind: Kind, _ asns: [UInt32]) {
        precondition((1...255).contains(asns.count), "an AS path segment holds 1 to 255 AS numbers")
        self.kind = kind
        self.asns = asns
    }

    public static func sequence(_ asns: [UInt32]) -> BGPASPathSegment { BGPASPathSegment(.sequence, asns) }
}

/// AGGREGATOR (RFC 4271 §5.1.7) or AS4_AGGREGATOR (RFC 6793).
public struct BGPAggregator: Hashable, Sendable {
    public var autonomousSystem: UInt32
    public var address: IPv4Address

    public init(autonomousSystem: UInt32, address: IPv4Address) {
        self.autonomousSystem = autonomousSystem
        self.address = address
    }
}

/// A community (RFC 1997): `asn:value` as two 16-bit halves.
public struct BGPCommunity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ high: UInt16, _ low: UInt16) { rawValue = UInt32(high) << 16 | UInt32(low) }

    public static let noExport = BGPCommunity(rawValue: 0xFFFF_FF01)
    public static let noAdvertise = BGPCommunity(rawValue: 0xFFFF_FF02)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(rawValue >> 16):\(rawValue & 0xFFFF)" }
}

/// A large community (RFC 8092): global administrator, and two local data parts.
public struct BGPLargeCommunity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var globalAdministrator: UInt32
    public var localData1: UInt32
    public var localData2: UInt32

    public init(_ globalAdministrator: UInt32, _ localData1: UInt32, _ localData2: UInt32) {
        self.globalAdministrator = globalAdministrator
        self.localData1 = localData1
        self.localData2 = localData2
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.globalAdministrator, lhs.localData1, lhs.localData2)
            < (rhs.globalAdministrator, rhs.localData1, rhs.localData2)
    }

    public var description: String { "\(globalAdministrator):\(localData1):\(localData2)" }
}

/// The next hop of MP_REACH_NLRI: an IPv4 address for IPv4, or a global IPv6 address and optionally the
/// link-local one of the same interface (RFC 2545 §3) for IPv6.
public enum BGPNextHop: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(global: IPv6Address, linkLocal: IPv6Address?)
}

/// MP_REACH_NLRI (RFC 4760 §3) for IPv4 or IPv6 unicast; other families stay unknown attributes.
public struct BGPMultiprotocolReach: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var nextHop: BGPNextHop
    public var prefixes: [IPNetwork]

    public init(family: BGPAddressFamily, nextHop: BGPNextHop, prefixes: [IPNetwork]) {
        self.family = family
        self.nextHop = nextHop
        self.prefixes = prefixes
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4) for IPv4 or IPv6 unicast. Empty, it is that family's End-of-RIB (RFC 4724 §2).
public struct BGPMultiprotocolUnreach: Hashable, Sendable {
    public var family: BGPAddressFamily
    public var prefixes: [IPNetwork]

    public init(family: BGPAddressFamily, prefixes: [IPNetwork]) {
        self.family = family
        self.prefixes = prefixes
    }
}

/// An optional attribute Herald does not interpret: its flags (the extended-length bit aside), type and value.
public struct BGPUnknownAttribute: Hashable, Sendable {
    public var flags: UInt8
    public var typeCode: UInt8
    public var value: [UInt8]

    public init(flags: UInt8, typeCode: UInt8, value: [UInt8]) {
        self.flags = flags & ~BGPPathAttributes.Flags.extendedLength & 0xF0
        self.typeCode = typeCode
        self.value = value
    }
}
