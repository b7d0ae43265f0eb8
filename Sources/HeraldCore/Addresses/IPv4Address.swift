/// An IPv4 address as a value: four octets held in one `UInt32`, most significant first.
public struct IPv4Address: Hashable, Comparable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// The four octets in network order.
    public var octets: [UInt8] {
        [
            UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
            UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue),
        ]
    }

    /// The next address, or `nil` after 255.255.255.255.
    public var successor: IPv4Address? { rawValue == .max ? nil : IPv4Address(rawValue: rawValue + 1) }

    /// The previous address, or `nil` before 0.0.0.0.
    public var predecessor: IPv4Address? { rawValue == 0 ? nil : IPv4Address(rawValue: rawValue - 1) }

    /// How many steps apart two addresses are, whichever is larger.
    public func distance(to other: IPv4Address) -> UInt32 {
        rawValue > other.rawValue ? rawValue - other.rawValue : other.rawValue - rawValue
    }

    /// An address whose last octet is 0 or 255. Some consumer routers take such an address for a network or
    /// broadcast address and drop its traffic (smurf protection); `avoidBuggyIPs` keeps pools off them.
    public var confusesBuggyFirmware: Bool {
        let last = rawValue & 0xff
        return last == 0 || last == 255
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension IPv4Address: CustomStringConvertible, LosslessStringConvertible {
    /// Dotted decimal, e.g. `192.0.2.10`.
    public var description: String { octets.map(String.init).joined(separator: ".") }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension IPv4Address {
    static let expectation = "an IPv4 address"

    /// Parses dotted decimal: exactly four decimal parts from 0 to 255. A part with a leading zero is refused
    /// (`010` reads as octal to some tools and as decimal to others), as Go's parser refuses it, so Herald
    /// accepts exactly the addresses MetalLB accepts.
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        self = try Self.parse(Array(text.utf8)[...], input: text)
    }

    /// Parses an IPv4 address from UTF-8 bytes; `input` is the whole text, for the error message.
    static func parse(
        _ bytes: ArraySlice<UInt8>, input: some StringProtocol,
        expected: String = expectation
    ) throws(AddressParseError) -> IPv4Address {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: input, expected: expected, detail: detail)
        }
        guard !bytes.isEmpty else { throw fail(.empty, "the text is empty") }
        var value: UInt32 = 0
        var parts = 0
        var partStart = bytes.startIndex
        var index = bytes.startIndex
        while true {
            let atEnd = index == bytes.endIndex
            if atEnd || bytes[index] == UInt8(ascii: ".") {
                let part = bytes[partStart..<index]
                parts += 1
                guard parts <= 4 else { throw fail(.wrongPartCount, "it has more than 4 parts") }
                guard !part.isEmpty else { throw fail(.emptyPart, "part \(parts) is empty") }
                let partText = String(decoding: part, as: UTF8.self)
                guard part.count == 1 || part.first != UInt8(ascii: "0") else {
                    throw fail(.leadingZero, "part \(parts) (\"\(partText)\") has a leading zero")
                }
                guard part.count <= 3 else {
                    throw fail(.valueTooLarge, "part \(parts) (\"\(partText)\") is greater than 255")
                }
                var octet: UInt32 = 0
                for digit in part { octet = octet * 10 + UInt32(digit - UInt8(ascii: "0")) }
                guard octet <= 255 else {
                    throw fail(.valueTooLarge, "part \(parts) (\"\(partText)\") is greater than 255")
                }
                value = value << 8 | octet
                if atEnd { break }
                partStart = bytes.index(after: index)
            } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw fail(.invalidCharacter, "unexpected character \(describeCharacter(at: index, in: bytes))")
            }
            index = bytes.index(after: index)
        }
        guard parts == 4 else {
            throw fail(.wrongPartCount, "it has \(parts) part\(parts == 1 ? "" : "s"), an IPv4 address has 4")
        }
        return IPv4Address(rawValue: value)
    }
}

/// Names the character at `index` for an error message: the character itself when printable, else its code.
/// Slices handed to the parsers keep the indices of the whole text, so the position counts from its start.
func describeCharacter(at index: Int, in bytes: ArraySlice<UInt8>) -> String {
    let byte = bytes[index]
    let position = index + 1
    if byte >= 0x21 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))' at position \(position)" }
    if byte == 0x20 { return "space at position \(position)" }
    return "byte 0x\(String(byte, radix: 16, uppercase: false)) at position \(position)"
}
