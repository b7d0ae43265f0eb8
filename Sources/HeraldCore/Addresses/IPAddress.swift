/// An IPv4 or IPv6 address. IPv4 addresses order before IPv6 ones; within a family, addresses order numerically.
public enum IPAddress: Hashable, Comparable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var family: IPFamily {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    /// The address as a number within its family.
    public var value: UInt128 {
        switch self {
        case .v4(let address): UInt128(address.rawValue)
        case .v6(let address): address.rawValue
        }
    }

    /// The address of `family` whose numeric value is `value`; `nil` when the value does not fit the family.
    public init?(family: IPFamily, value: UInt128) {
        switch family {
        case .v4:
            guard let raw = UInt32(exactly: value) else { return nil }
            self = .v4(IPv4Address(rawValue: raw))
        case .v6:
            self = .v6(IPv6Address(rawValue: value))
        }
    }

    /// The next address of the same family, or `nil` after the family's last address.
    public var successor: IPAddress? {
        switch self {
        case .v4(let address): address.successor.map(IPAddress.v4)
        case .v6(let address): address.successor.map(IPAddress.v6)
        }
    }

    /// The previous address of the same family, or `nil` before the family's first address.
    public var predecessor: IPAddress? {
        switch self {
        case .v4(let address): address.predecessor.map(IPAddress.v4)
        case .v6(let address): address.predecessor.map(IPAddress.v6)
        }
    }

    /// How many steps apart two addresses of one family are; `nil` across families.
    public func distance(to other: IPAddress) -> UInt128? {
        guard family == other.family else { return nil }
        let (a, b) = (value, other.value)
        return a > b ? a - b : b - a
    }

    /// An IPv4 address ending in .0 or .255, which `avoidBuggyIPs` skips. Never true for IPv6.
    public var confusesBuggyFirmware: Bool {
        if case .v4(let address) = self { return address.confusesBuggyFirmware }
        return false
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.family == rhs.family ? lhs.value < rhs.value : lhs.family < rhs.family
    }
}

extension IPAddress: CustomStringConvertible, LosslessStringConvertible {
    /// Dotted decimal for IPv4, RFC 5952 canonical form for IPv6.
    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension IPAddress {
    /// Parses either family: text holding a `:` is IPv6, any other text IPv4.
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        self = try Self.parse(Array(text.utf8)[...], input: text, expected: "an IP address")
    }

    static func parse(
        _ bytes: ArraySlice<UInt8>, input: some StringProtocol,
        expected: String
    ) throws(AddressParseError) -> IPAddress {
        if bytes.contains(UInt8(ascii: ":")) {
            return .v6(try IPv6Address.parse(bytes, input: input, expected: expected))
        }
        return .v4(try IPv4Address.parse(bytes, input: input, expected: expected))
    }
}
