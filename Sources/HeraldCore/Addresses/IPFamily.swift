/// An IP address family, named as Kubernetes names them in `spec.ipFamilies`.
public enum IPFamily: String, Hashable, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case v4 = "IPv4"
    case v6 = "IPv6"

    public var description: String { rawValue }

    /// Address width in bits.
    public var bitWidth: Int { self == .v4 ? 32 : 128 }

    /// The largest value an address of this family can hold.
    public var maxValue: UInt128 { self == .v4 ? UInt128(UInt32.max) : UInt128.max }

    public static func < (lhs: IPFamily, rhs: IPFamily) -> Bool { lhs == .v4 && rhs == .v6 }
}
