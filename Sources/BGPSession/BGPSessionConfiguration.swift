public import BGPWire
public import HeraldCore

/// What one session to one peer is configured with: MetalLB's BGPPeer fields that shape the protocol, already
/// validated (a hold time of 1 or 2 seconds never gets here).
public struct BGPSessionConfiguration: Hashable, Sendable {
    /// The peer's AS: a number, or only whether it must be ours (`dynamicASN: internal`) or not (`external`).
    public enum PeerAS: Hashable, Sendable, CustomStringConvertible {
        case number(UInt32)
        case `internal`
        case external

        public var description: String {
            switch self {
            case .number(let asn): "\(asn)"
            case .internal: "internal"
            case .external: "external"
            }
        }
    }

    public var localAS: UInt32
    public var peerAS: PeerAS
    public var routerID: IPv4Address
    /// Seconds offered in OPEN: 0 (no keepalives, no hold timer) or at least 3.
    public var holdTime: UInt16
    /// Seconds between keepalives; `nil` for a third of the negotiated hold time.
    public var keepaliveTime: UInt16?
    /// The wait before the first reconnection, and how long one TCP connection attempt may take.
    public var connectRetryTime: Duration
    /// The most a reconnection waits after repeated failures.
    public var maximumRetryTime: Duration
    /// The families offered in OPEN (multiprotocol capabilities).
    public var families: [BGPAddressFamily]
    /// Offer graceful restart (RFC 4724) with `gracefulRestartTime`.
    public var gracefulRestart: Bool
    public var gracefulRestartTime: UInt16
    /// Next hops for families the session's own local address is not of (a dual-stack session over IPv4
    /// announcing IPv6 routes needs the node's IPv6 address).
    public var otherNextHops: [IPFamily: IPAddress]

    public init(
        localAS: UInt32, peerAS: PeerAS, routerID: IPv4Address, holdTime: UInt16 = 90, keepaliveTime: UInt16? = nil,
        connectRetryTime: Duration = .seconds(2), maximumRetryTime: Duration = .seconds(30),
        families: [BGPAddressFamily] = [.ipv4Unicast, .ipv6Unicast], gracefulRestart: Bool = false,
        gracefulRestartTime: UInt16 = 120, otherNextHops: [IPFamily: IPAddress] = [:]
    ) {
        self.localAS = localAS
        self.peerAS = peerAS
        self.routerID = routerID
        self.holdTime = holdTime
        self.keepaliveTime = keepaliveTime
        self.connectRetryTime = connectRetryTime
        self.maximumRetryTime = maximumRetryTime
        self.families = families
        self.gracefulRestart = gracefulRestart
        self.gracefulRestartTime = gracefulRestartTime
        self.otherNextHops = otherNextHops
    }
}

/// What the two OPENs agreed on, for the life of one established session.
public struct BGPNegotiated: Hashable, Sendable {
    public var peerAS: UInt32
    public var peerRouterID: IPv4Address
    /// Seconds; 0 means neither side sends keepalives or runs a hold timer.
    public var holdTime: UInt16
    public var keepaliveInterval: Duration?
    /// The families both offered.
    public var families: [BGPAddressFamily]
    public var fourOctetAS: Bool
    public var routeRefresh: Bool
    /// Both offered graceful restart: the peer keeps this node's routes while the speaker restarts.
    public var gracefulRestart: Bool
    /// The peer is in our AS: LOCAL_PREF is sent, our AS is not prepended.
    public var isInternal: Bool
    /// The next hop this session announces for each family.
    public var nextHops: [IPFamily: IPAddress]
}
