/// One entry of a pool's `addresses`: the text as written and the addresses it stands for.
public struct AddressBlock: Hashable, Sendable {
    /// The entry as the operator wrote it, for messages.
    public let text: String
    public let range: IPRange

    public var family: IPFamily { range.family }

    public init(text: String, range: IPRange) {
        self.text = text
        self.range = range
    }

    /// Parses a pool entry as MetalLB does: a CIDR when the text holds a `/`, a range when it holds a `-`.
    /// A CIDR with host bits set is accepted with its host bits cleared, as MetalLB accepts it; `hadHostBits`
    /// lets the validator warn.
    public static func parse(_ text: String) throws(AddressParseError) -> (block: AddressBlock, hadHostBits: Bool) {
        let bytes = Array(text.utf8)[...].trimmingSpaces
        if bytes.contains(UInt8(ascii: "/")) {
            let (network, hadHostBits) = try IPNetwork.parseAllowingHostBits(bytes, input: text)
            return (AddressBlock(text: text, range: network.range), hadHostBits)
        }
        if bytes.contains(UInt8(ascii: "-")) {
            return (AddressBlock(text: text, range: try IPRange.parse(bytes, input: text)), false)
        }
        let hint =
            (try? IPAddress.parse(bytes, input: text, expected: "")).map { address in
                "; for the single address write \(address)/\(address.family.bitWidth)"
            } ?? ""
        throw AddressParseError(
            .notACIDROrRange, input: text, expected: "a CIDR or an IP range",
            detail: "it has neither \"/\" nor \"-\"\(hint)")
    }
}
