public import HeraldCore

/// Where and how one session's TCP connection goes: MetalLB's BGPPeer transport fields.
public struct BGPPeerEndpoint: Hashable, Sendable {
    /// The BGPPeer's name, for logs, status and metrics.
    public var name: String
    public var peerAddress: IPAddress
    public var peerPort: Int
    /// The local address to connect from (`sourceAddress`); the kernel's choice when `nil`.
    public var sourceAddress: IPAddress?
    /// The TCP MD5 signature key (RFC 2385; `password` or `passwordSecret`), at most 80 bytes.
    public var password: String?
    /// IP TTL (hop limit) of the session's packets: 1 for a directly connected eBGP peer, 255 for
    /// `ebgpMultiHop` and internal peers.
    public var timeToLive: Int

    public init(
        name: String, peerAddress: IPAddress, peerPort: Int = 179, sourceAddress: IPAddress? = nil,
        password: String? = nil, timeToLive: Int = 1
    ) {
        self.name = name
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.sourceAddress = sourceAddress
        self.password = password
        self.timeToLive = timeToLive
    }

    /// The longest key Linux's TCP_MD5SIG takes.
    public static let maximumPasswordLength = 80
}
