/// An inclusive run of addresses of one family, e.g. `192.0.2.10-192.0.2.20`.
public struct IPRange: Hashable, Sendable {
    public let first: IPAddress
    public let last: IPAddress

    /// A range from `first` through `last`; `nil` when they differ in family or `first` comes after `last`.
    public init?(first: IPAddress, last: IPAddress) {
        guard first.family == last.family, first <= last else { return nil }
        self.init(uncheckedFirst: first, last: last)
    }

    /// The range of one address.
    public init(_ address: IPAddress) { self.init(uncheckedFirst: address, last: address) }

    init(uncheckedFirst first: IPAddress, last: IPAddress) {
        self.first = first
        self.last = last
    }

    public var family: IPFamily { first.family }

    /// The number of addresses, exact even for all of IPv6.
    public var count: AddressCount { AddressCount(first: first.value, last: last.value) }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && first.value <= address.value && address.value <= last.value
    }

    public func contains(_ other: IPRange) -> Bool { contains(other.first) && contains(other.last) }

    public func overlaps(_ other: IPRange) -> Bool { intersection(other) != nil }

    /// The addresses both ranges hold, or `nil` when they share none.
    public func intersection(_ other: IPRange) -> IPRange? {
        guard family == other.family else { return nil }
        let low = Swift.max(first, other.first), high = Swift.min(last, other.last)
        return low <= high ? IPRange(uncheckedFirst: low, last: high) : nil
    }
}

extension IPRange: Sequence {
    /// Walks the range first to last; stops after `last`, also when `last` is the family's final address.
    public struct Iterator: IteratorProtocol {
        var upcoming: IPAddress?
        let last: IPAddress

        public mutating func next() -> IPAddress? {
            guard let current = upcoming else { return nil }
            upcoming = current == last ? nil : current.successor
            return current
        }
    }

    public func makeIterator() -> Iterator { Iterator(upcoming: first, last: last) }

    public var underestimatedCount: Int { Int(clamping: count.exactValue ?? UInt128(Int.max)) }
}

extension IPRange: CustomStringConvertible, LosslessStringConvertible {
    /// `first-last`, as MetalLB writes ranges.
    public var description: String { "\(first)-\(last)" }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

extension IPRange {
    static let expectation = "an IP range"

    /// Parses `FIRST-LAST` (spaces around either address are allowed, as MetalLB allows them).
    public init(parsing text: some StringProtocol) throws(AddressParseError) {
        self = try Self.parse(Array(text.utf8)[...], input: text)
    }

    static func parse(_ bytes: ArraySlice<UInt8>, input: some StringProtocol) throws(AddressParseError) -> IPRange {
        func fail(_ code: AddressParseError.Code, _ detail: String) -> AddressParseError {
            AddressParseError(code, input: input, expected: expectation, detail: detail)
        }
        guard !bytes.isEmpty else { throw fail(.empty, "the text is empty") }
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")) else {
            throw fail(.notACIDROrRange, "it has no \"-\" between a first and a last address")
        }
        let first = try IPAddress.parse(
            bytes[bytes.startIndex..<dash].trimmingSpaces, input: input, expected: expectation)
        let last = try IPAddress.parse(bytes[(dash + 1)...].trimmingSpaces, input: input, expected: expectation)
        guard first.family == last.family else {
            throw fail(.mixedFamilies, "it mixes an \(first.family) and an \(last.family) address")
        }
        guard first <= last else {
            throw fail(.reversedRange, "the first address \(first) comes after the last \(last)")
        }
        return IPRange(uncheckedFirst: first, last: last)
    }
}

extension ArraySlice<UInt8> {
    /// The slice without leading and trailing spaces and tabs; indices stay those of the whole text.
    var trimmingSpaces: ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[start...end]
    }
}
