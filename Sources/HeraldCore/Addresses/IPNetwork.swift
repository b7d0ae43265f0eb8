/// A CIDR block: a network address and a prefix length, e.g. `192.0.2.0/24` or `2001:db8::/120`.
/// The network address never has host bits set.
public struct IPNetwork: Hashable, Sendable {
    /// The first address of the block.
    public let address: IPAddress
    public let prefixLength: Int

    /// The block of `prefixLength` bits that holds `address`; host bits in `address` are cleared.
    public init(containing address: IPAddress, prefixLength: Int) {
        precondition((0...address.family.bitWidth).contains(prefixLength), "prefix length out of range")
        let hostMask = Self.hostMask(family: address.family, prefixLength: prefixLength)
        self.address = IPAddress(family: address.family, value: address.value & ~hostMask)!
        self.prefixLength = prefixLength
    }

    public var family: IPFamily { address.family }

    /// The addresses of the block, first to last.
    public var range: IPRange {
        let last = address.value | Self.hostMask(family: family, prefixLength: prefixLength)
        return IPRange(uncheckedFirst: address, last: IPAddress(family: family, value: last)!)
    }

    public func contains(_ other: IPAddress) -> Bool { range.contains(other) }

    /// The bits of an address below the prefix, as a mask within the family's width.
    static func hostMask(family: IPFamily, prefixLength: Int) -> UInt128 {
        let hostBits = family.bitWidth - prefixLength
        return hostBits == 0 ? 0 : (hostBits == 128 ? .max : (UInt128(1) << hostBits) - 1)
    }
}

extension IPNetwork: CustomStringConvertible, LosslessStringConvertible {
    public var description: String { "\(address)/\(prefixLength)" }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension IPNetwork {
    static let expectation = "a CIDR"

    /// Parses `ADDRESS/LENGTH` and refuses host bits: `192.0.2.1/24` is an error that names `192.0.2.0/24`.
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        let (network, hadHostBits) = try Self.parseAllowingHostBits(Array(text.utf8)[...], input: text)
        guard !hadHostBits else {
            throw AddressParseError(
                .hostBitsSet, input: text, expected: Self.expectation,
                detail: "host bits are set; the block is \(network)")
        }
        self = network
    }

    /// Parses `ADDRESS/LENGTH` the way Go's `net.ParseCIDR` does, which MetalLB uses for pools: host bits in the
    /// address are cleared. Also says whether there were any, so a caller can warn about them.
    static func parseAllowingHostBits(
        _ bytes: ArraySlice<UInt8>, input: some StringProtocol
    )
        throws(AddressParseError) -> (network: IPNetwork, hadHostBits: Bool)
    {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: input, expected: expectation, detail: detail)
        }
        guard !bytes.isEmpty else { throw fail(.empty, "the text is empty") }
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else {
            throw fail(.missingPrefixLength, "it has no \"/\" and prefix length")
        }
        let address = try IPAddress.parse(bytes[bytes.startIndex..<slash], input: input, expected: expectation)
        let digits = bytes[(slash + 1)...]
        guard !digits.isEmpty else { throw fail(.missingPrefixLength, "the prefix length after \"/\" is missing") }
        var length = 0
        for index in digits.indices {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digits[index]) else {
                throw fail(
                    .invalidCharacter,
                    "unexpected character \(describeCharacter(at: index, in: bytes)) in the prefix length")
            }
            length = length * 10 + Int(digits[index] - UInt8(ascii: "0"))
            guard length <= 128 else { break }
        }
        let width = address.family.bitWidth
        guard length <= width else {
            throw fail(
                .prefixLengthOutOfRange,
                "prefix length \(String(decoding: digits, as: UTF8.self)) is greater than \(width)")
        }
        let network = IPNetwork(containing: address, prefixLength: length)
        return (network, network.address != address)
    }
}
