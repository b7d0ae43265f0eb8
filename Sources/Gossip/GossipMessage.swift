/// A change to one member, spread by piggybacking on probes and acks.
public struct MemberUpdate: Hashable, Sendable {
    public var member: Member
    /// For a suspicion: the member that suspected, kept as the update is passed on, so that Lifeguard counts
    /// independent suspicions rather than the same one relayed by many.
    public var accuser: String?

    public init(_ member: Member, accuser: String? = nil) {
        self.member = member
        self.accuser = accuser
    }
}

/// What members send each other. Every message carries a few updates.
public enum GossipMessage: Hashable, Sendable {
    /// "Are you alive?" The target answers with an ack of the same sequence number.
    case ping(sequence: UInt32, target: String, updates: [MemberUpdate])
    /// "Please ping `target` for me": an indirect probe; the helper forwards the target's ack.
    case pingRequest(sequence: UInt32, target: String, targetAddress: String, updates: [MemberUpdate])
    case ack(sequence: UInt32, updates: [MemberUpdate])
    /// Lifeguard: the helper of an indirect probe got no ack in time — tells the prober that the helper
    /// itself is fine, so the prober does not blame its own slowness.
    case nack(sequence: UInt32, updates: [MemberUpdate])
    /// Updates alone, sent to a few members every gossip interval while there is news (memberlist's gossip).
    case gossip(updates: [MemberUpdate])
    /// Full state, for joining and anti-entropy (push-pull). `reply` asks for the receiver's state back.
    case state(members: [Member], reply: Bool)

    public var updates: [MemberUpdate] {
        switch self {
        case .ping(_, _, let updates), .pingRequest(_, _, _, let updates), .ack(_, let updates), .nack(_, let updates),
            .gossip(let updates):
            updates
        case .state: []
        }
    }
}

/// A message and who sent it.
public struct Envelope: Hashable, Sendable {
    public var from: String
    public var fromAddress: String
    public var message: GossipMessage

    public init(from: String, fromAddress: String, message: GossipMessage) {
        self.from = from
        self.fromAddress = fromAddress
        self.message = message
    }
}
