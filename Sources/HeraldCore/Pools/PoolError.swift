/// A pool that cannot be used as written, and why. The pool is left out; every other pool keeps working.
///
/// Prints as `pool "lan": "192.0.2.0/33" is not a CIDR: prefix length 33 is greater than 32`.
public struct PoolError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidName = Code("invalidName")
        public static let duplicateName = Code("duplicateName")
        public static let noAddresses = Code("noAddresses")
        public static let invalidAddresses = Code("invalidAddresses")
        public static let overlapWithinPool = Code("overlapWithinPool")
        public static let overlapWithPool = Code("overlapWithPool")
        public static let invalidServiceAllocation = Code("invalidServiceAllocation")
    }

    public var code: Code
    /// The pool to edit.
    public var pool: String
    /// What is wrong, in the operator's words.
    public var detail: String
    /// For an overlap between pools: the pool that keeps the addresses.
    public var otherPool: String?

    public init(_ code: Code, pool: String, detail: String, otherPool: String? = nil) {
        self.code = code
        self.pool = pool
        self.detail = detail
        self.otherPool = otherPool
    }

    public var description: String { "pool \"\(pool)\": \(detail)" }
}

/// Something valid but probably unintended in a pool, worth a log line and an Event.
public struct PoolWarning: Hashable, Sendable, CustomStringConvertible {
    public var pool: String
    public var detail: String

    public init(pool: String, detail: String) {
        self.pool = pool
        self.detail = detail
    }

    public var description: String { "pool \"\(pool)\": \(detail)" }
}
