public import HeraldCore
import HeraldWire

/// An address family and subsequent address family (AFI/SAFI, RFC 4760) as the wire carries it.
public struct BGPAddressFamily: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) {
        self.afi = afi
        self.safi = safi
    }

    public init(unicast family: IPFamily) {
        self = family == .v4 ? .ipv4Unicast : .ipv6Unicast
    }

    public static let ipv4Unicast = BGPAddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = BGPAddressFamily(afi: 2, safi: 1)

    /// The IP family of a unicast family Herald routes; `nil` for every other AFI/SAFI.
    public var unicastFamily: IPFamily? {
        switch self {
        case .ipv4Unicast: .v4
        case .ipv6Unicast: .v6
        default: nil
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.afi, lhs.safi) < (rhs.afi, rhs.safi) }

    public var description: String {
        switch self {
        case .ipv4Unicast: "ipv4-unicast"
        case .ipv6Unicast: "ipv6-unicast"
        default: "afi \(afi)/safi \(safi)"
        }
    }
}
