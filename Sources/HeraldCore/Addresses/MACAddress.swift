/// A 48-bit Ethernet MAC address, held in the low 48 bits of a `UInt64`.
public struct MACAddress: Hashable, Comparable, Sendable {
    public let rawValue: UInt64

    public init?(rawValue: UInt64) {
        guard rawValue >> 48 == 0 else { return nil }
        self.rawValue = rawValue
    }

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 6, "a MAC address has 6 bytes")
        rawValue = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static let broadcast = MACAddress(rawValue: 0xffff_ffff_ffff)!
    public static let zero = MACAddress(rawValue: 0)!

    /// The six bytes in wire order.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }

    /// Group (multicast or broadcast) addresses have the low bit of the first byte set.
    public var isMulticast: Bool { rawValue >> 40 & 1 == 1 }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension MACAddress: CustomStringConvertible, LosslessStringConvertible {
    /// Lower-case, colon-separated: `02:00:5e:10:00:01`.
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: false) }.joined(separator: ":")
    }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension MACAddress {
    /// Parses six pairs of hex digits separated by `:` (as `ip link` prints) or `-`, in either case.
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: text, expected: "a MAC address", detail: detail)
        }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw fail(.empty, "the text is empty") }
        guard bytes.count == 17 else {
            throw fail(
                .wrongPartCount, "it has \(bytes.count) characters, a MAC address has 17 (six pairs of hex digits)")
        }
        let separator = bytes[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else {
            throw fail(
                .invalidCharacter,
                "unexpected character \(describeCharacter(at: 2, in: bytes[...])); pairs are separated by ':' or '-'")
        }
        var value: UInt64 = 0
        for index in bytes.indices {
            if index % 3 == 2 {
                guard bytes[index] == separator else {
                    throw fail(
                        .invalidCharacter,
                        "unexpected character \(describeCharacter(at: index, in: bytes[...])); "
                            + "expected '\(Character(Unicode.Scalar(separator)))'"
                    )
                }
                continue
            }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw fail(.invalidCharacter, "unexpected character \(describeCharacter(at: index, in: bytes[...]))")
            }
            value = value << 4 | UInt64(digit)
        }
        rawValue = value
    }
}
