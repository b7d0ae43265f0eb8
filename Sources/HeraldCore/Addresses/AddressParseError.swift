/// Why a piece of text is not an address, a network, a range or a MAC address.
///
/// Printed for an operator: the text that was given, what it should have been, and what is wrong with it,
/// e.g. `"192.0.2.0/33" is not a CIDR: prefix length 33 is greater than 32`.
public struct AddressParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of mistake. A struct rather than an enum so that a new code breaks no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let empty = Code("empty")
        public static let invalidCharacter = Code("invalidCharacter")
        public static let wrongPartCount = Code("wrongPartCount")
        public static let emptyPart = Code("emptyPart")
        public static let valueTooLarge = Code("valueTooLarge")
        public static let leadingZero = Code("leadingZero")
        public static let misplacedCompression = Code("misplacedCompression")
        public static let zoneNotAllowed = Code("zoneNotAllowed")
        public static let missingPrefixLength = Code("missingPrefixLength")
        public static let prefixLengthOutOfRange = Code("prefixLengthOutOfRange")
        public static let hostBitsSet = Code("hostBitsSet")
        public static let mixedFamilies = Code("mixedFamilies")
        public static let reversedRange = Code("reversedRange")
        public static let notACIDROrRange = Code("notACIDROrRange")
    }

    public var code: Code
    /// The text exactly as it was given.
    public var input: String
    /// What the text should have been, with its article: "an IPv4 address", "a CIDR".
    public var expected: String
    /// What is wrong, in the operator's words.
    public var detail: String

    public init(_ code: Code, input: some StringProtocol, expected: String, detail: String) {
        self.code = code
        self.input = String(input)
        self.expected = expected
        self.detail = detail
    }

    public var description: String { "\"\(input)\" is not \(expected): \(detail)" }
}
