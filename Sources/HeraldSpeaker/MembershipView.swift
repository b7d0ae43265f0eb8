public import Gossip
public import GossipNode

/// The live speakers, by node name, and a signal when that changes. `GossipNode` is the real one.
public protocol MembershipView: Sendable {
    /// Names of the members that are alive or suspected (a suspect still answers until it is declared dead).
    func liveNames() async -> Set<String>
    /// Yields on every change of a member.
    var changes: AsyncStream<Member> { get }
}

extension GossipNode: MembershipView {
    public func liveNames() async -> Set<String> { Set(liveMembers.map(\.name)) }
}
