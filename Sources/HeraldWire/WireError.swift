/// Why bytes are not a frame Herald can use. Decoders throw it instead of trapping or reading past the end,
/// and leave the input untouched.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Fewer bytes than the header or a length field promises.
        public static let truncated = Code("truncated")
        /// More bytes than any frame Herald handles.
        public static let oversized = Code("oversized")
        /// A protocol, version or operation Herald does not speak (not an error in the sender).
        public static let unsupported = Code("unsupported")
        /// Fields that contradict each other or the protocol's rules.
        public static let malformed = Code("malformed")
        /// The checksum does not match.
        public static let badChecksum = Code("badChecksum")
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
