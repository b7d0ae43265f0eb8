public import Gossip
public import GossipNode
public import HeraldCore

/// The live speakers, by node name, and a signal when that changes. `GossipNode` is the real one.
public protocol MembershipView: Sendable {
    /// Names of the members that are alive or suspected (a suspect still answers until it is declared dead).
    func liveNames() async -> Set<String>
    /// The MACs each known member answers from (from its gossip metadata), dead members included: a node
    /// this one thinks dead may be alive on the other side of a partition.
    func macs() async -> [MACAddress: String]
    /// Members that left gracefully (a drain, a rolling update): they keep answering until their successors
    /// are heard, and must not be mistaken for the other side of a partition.
    func departedNames() async -> Set<String>
    /// Yields on every change of a member.
    var changes: AsyncStream<Member> { get }
    /// Tells the others the MACs this node answers from now (an interface came or went).
    func publish(macs: [MACAddress]) async
}

/// What a speaker tells the others about itself in its gossip metadata.
public enum SpeakerMetadata {
    /// The MACs of the interfaces it answers on, comma-separated.
    public static let macs = "macs"

    public static func macs(of member: Member) -> [MACAddress] {
        (member.metadata[macs] ?? "").split(separator: ",").compactMap { try? MACAddress(parsing: String($0)) }
    }

    /// The `macs` value: at most 56, which fit the codec's 1024-byte metadata value.
    public static func value(_ list: [MACAddress]) -> String {
        list.prefix(56).map(\.description).joined(separator: ",")
    }
}

extension GossipNode: MembershipView {
    public func liveNames() async -> Set<String> { Set(liveMembers.map(\.name)) }

    public func departedNames() async -> Set<String> { Set(members.filter { $0.status == .left }.map(\.name)) }

    public func publish(macs list: [MACAddress]) async {
        var metadata = me.metadata
        metadata[SpeakerMetadata.macs] = SpeakerMetadata.value(list)
        setMetadata(metadata)
    }

    public func macs() async -> [MACAddress: String] {
        var owners: [MACAddress: String] = [:]
        for member in members {
            for mac in SpeakerMetadata.macs(of: member) { owners[mac] = member.name }
        }
        return owners
    }
}
