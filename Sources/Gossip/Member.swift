/// What a member is believed to be. Later states win over earlier ones at the same incarnation.
public enum MemberStatus: UInt8, Hashable, Sendable, Comparable, CustomStringConvertible {
    case alive = 0
    case suspect = 1
    case dead = 2
    /// Left on purpose (graceful leave): dropped at once, no suspicion.
    case left = 3

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { ["alive", "suspect", "dead", "left"][Int(rawValue)] }
}

/// One member of the cluster as a node sees it.
public struct Member: Hashable, Sendable, CustomStringConvertible {
    /// The member's unique name: the Kubernetes node name of its speaker.
    public var name: String
    /// Where its gossip endpoint listens (`host:port`); opaque to the state machine.
    public var address: String
    /// Raised only by the member itself, to refute a suspicion or announce a restart.
    public var incarnation: UInt64
    public var status: MemberStatus
    /// Small key-value data carried with the member (e.g. `node` → the Kubernetes node name).
    public var metadata: [String: String]

    public init(
        name: String, address: String, incarnation: UInt64 = 0, status: MemberStatus = .alive,
        metadata: [String: String] = [:]
    ) {
        self.name = name
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.metadata = metadata
    }

    public var description: String { "\(name)@\(address) #\(incarnation) \(status)" }

    /// Whether this is a member others should probe and count as live.
    public var isLive: Bool { status == .alive || status == .suspect }
}
