/// An IPv6 address as a value: 128 bits in one `UInt128`, most significant first.
public struct IPv6Address: Hashable, Comparable, Sendable {
    public var rawValue: UInt128

    public init(rawValue: UInt128) { self.rawValue = rawValue }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: rawValue >> (112 - 16 * UInt128($0))) }
    }

    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has 8 groups")
        rawValue = groups.reduce(0) { $0 << 16 | UInt128($1) }
    }

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: rawValue >> (120 - 8 * UInt128($0))) } }

    /// The next address, or `nil` after the last one.
    public var successor: IPv6Address? { rawValue == .max ? nil : IPv6Address(rawValue: rawValue + 1) }

    /// The previous address, or `nil` before `::`.
    public var predecessor: IPv6Address? { rawValue == 0 ? nil : IPv6Address(rawValue: rawValue - 1) }

    /// How many steps apart two addresses are, whichever is larger.
    public func distance(to other: IPv6Address) -> UInt128 {
        rawValue > other.rawValue ? rawValue - other.rawValue : other.rawValue - rawValue
    }

    /// `::ffff:0:0/96`, an IPv4 address written in IPv6 form.
    public var isIPv4Mapped: Bool { rawValue >> 32 == 0xffff }

    /// The solicited-node multicast group `ff02::1:ffXX:XXXX` that Neighbour Solicitations for this address go to.
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(rawValue: (UInt128(0xff02) << 112) | (UInt128(0x1_ff) << 24) | (rawValue & 0xff_ffff))
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension IPv6Address: CustomStringConvertible, LosslessStringConvertible {
    /// The RFC 5952 canonical text: lower-case hex, no leading zeros in a group, the longest run of two or more
    /// zero groups (the first of equal runs) shortened to `::`, and IPv4-mapped addresses in mixed notation.
    public var description: String {
        let groups = self.groups
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(rawValue: UInt32(truncatingIfNeeded: rawValue)).description
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16, uppercase: false) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension IPv6Address {
    static let expectation = "an IPv6 address"

    /// Parses the text forms of RFC 4291 §2.2: eight groups of one to four hex digits, at most one `::` for one or
    /// more zero groups, and an IPv4 address in place of the last two groups. Zone indices (`fe80::1%eth0`) are
    /// refused: a pool address or a Service IP belongs to no single link.
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        self = try Self.parse(Array(text.utf8)[...], input: text)
    }

    static func parse(
        _ bytes: ArraySlice<UInt8>, input: some StringProtocol,
        expected: String = expectation
    ) throws(AddressParseError) -> IPv6Address {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: input, expected: expected, detail: detail)
        }
        guard !bytes.isEmpty else { throw fail(.empty, "the text is empty") }
        if let percent = bytes.firstIndex(of: UInt8(ascii: "%")) {
            throw fail(
                .zoneNotAllowed,
                "a zone index (\"%\(String(decoding: bytes[(percent + 1)...], as: UTF8.self))\") is not allowed here")
        }
        // Split at the one "::", if any, into the groups before and after it.
        var compression: Int? = nil
        var search = bytes.startIndex
        while search + 1 < bytes.endIndex {
            if bytes[search] == UInt8(ascii: ":") && bytes[search + 1] == UInt8(ascii: ":") {
                guard compression == nil else { throw fail(.misplacedCompression, "\"::\" may appear only once") }
                compression = search
                search += 2
                if search < bytes.endIndex && bytes[search] == UInt8(ascii: ":") {
                    throw fail(.misplacedCompression, "\":::\" at position \(search) is not allowed")
                }
            } else {
                search += 1
            }
        }
        let head = compression.map { bytes[bytes.startIndex..<$0] } ?? bytes
        let tail = compression.map { bytes[($0 + 2)...] } ?? bytes[bytes.endIndex...]

        var headGroups = try groups(of: head, isLastSection: compression == nil, input: input, expected: expected)
        let tailGroups = try groups(of: tail, isLastSection: true, input: input, expected: expected)
        let total = headGroups.count + tailGroups.count
        if compression == nil {
            guard total == 8 else {
                throw fail(.wrongPartCount, "it has \(total) groups of 16 bits and no \"::\", an IPv6 address has 8")
            }
        } else {
            guard total <= 7 else {
                throw fail(.wrongPartCount, "it has \(total) groups of 16 bits besides \"::\", at most 7 fit")
            }
            headGroups += Array(repeating: 0, count: 8 - total)
        }
        return IPv6Address(groups: headGroups + tailGroups)
    }

    /// The 16-bit groups of one side of "::"; the last group of the address may be a dotted IPv4 address.
    private static func groups(
        of section: ArraySlice<UInt8>, isLastSection: Bool, input: some StringProtocol,
        expected: String
    ) throws(AddressParseError) -> [UInt16] {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: input, expected: expected, detail: detail)
        }
        guard !section.isEmpty else { return [] }
        var result: [UInt16] = []
        var start = section.startIndex
        while true {
            let end = section[start...].firstIndex(of: UInt8(ascii: ":")) ?? section.endIndex
            let group = section[start..<end]
            let isLast = end == section.endIndex
            guard !group.isEmpty else {
                throw fail(.emptyPart, "an empty group at position \(start + 1) (a single ':' at the start or end)")
            }
            if isLast && isLastSection && group.contains(UInt8(ascii: ".")) {
                let v4 = try IPv4Address.parse(group, input: input, expected: expected)
                result += [UInt16(truncatingIfNeeded: v4.rawValue >> 16), UInt16(truncatingIfNeeded: v4.rawValue)]
            } else {
                var value: UInt16 = 0
                for index in group.indices {
                    guard let digit = hexValue(group[index]) else {
                        throw fail(
                            .invalidCharacter, "unexpected character \(describeCharacter(at: index, in: section))")
                    }
                    guard index - group.startIndex < 4 else {
                        throw fail(
                            .valueTooLarge,
                            "group \"\(String(decoding: group, as: UTF8.self))\" has more than 4 hex digits")
                    }
                    value = value << 4 | UInt16(digit)
                }
                result.append(value)
            }
            guard result.count <= 8 else { throw fail(.wrongPartCount, "it has more than 8 groups of 16 bits") }
            if isLast { break }
            start = end + 1
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
