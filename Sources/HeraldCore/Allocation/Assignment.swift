/// The IPs a Service holds and the pool they came from.
public struct Assignment: Hashable, Sendable, CustomStringConvertible {
    public var service: ServiceKey
    public var pool: String
    /// One or two addresses (two of different families), the Service's primary family first.
    public var ips: [IPAddress]

    public init(service: ServiceKey, pool: String, ips: [IPAddress]) {
        self.service = service
        self.pool = pool
        self.ips = ips
    }

    public var description: String {
        "\(service) -> \(ips.map(\.description).joined(separator: ",")) (pool \"\(pool)\")"
    }
}

/// Why a Service got no IP, or not the one it asked for. The message says what to change.
public struct AllocationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The request itself is contradictory (two IPs of one family, IPs of the wrong family, …).
        public static let invalidRequest = Code("invalidRequest")
        /// A requested IP lies in no pool (or only where `avoidBuggyIPs` skips it).
        public static let ipOutsidePools = Code("ipOutsidePools")
        /// The requested IPs lie in different pools.
        public static let ipsInDifferentPools = Code("ipsInDifferentPools")
        /// A requested IP is not in the requested pool.
        public static let ipNotInRequestedPool = Code("ipNotInRequestedPool")
        /// The IP is held by a Service it cannot be shared with.
        public static let ipInUse = Code("ipInUse")
        /// The IP is shareable but a port is taken on it.
        public static let portInUse = Code("portInUse")
        /// The requested pool does not exist (or was left out as invalid).
        public static let unknownPool = Code("unknownPool")
        /// The pool's `serviceAllocation` does not select the Service.
        public static let poolNotAllowed = Code("poolNotAllowed")
        /// The pool has no addresses of a family the Service needs.
        public static let familyUnavailable = Code("familyUnavailable")
        /// No free address is left where the Service may take one.
        public static let poolExhausted = Code("poolExhausted")
        /// The Service holds IPs its spec no longer asks for (other IPs, pool or families requested).
        public static let requestChanged = Code("requestChanged")
        /// No pool may serve the Service automatically.
        public static let noEligiblePool = Code("noEligiblePool")
    }

    public var code: Code
    public var message: String
    /// The Service holding the contested IP, for `ipInUse`, `portInUse` and conflicts at a rebuild.
    public var holder: ServiceKey?

    public init(_ code: Code, _ message: String, holder: ServiceKey? = nil) {
        self.code = code
        self.message = message
        self.holder = holder
    }

    public var description: String { message }
}
